/** Recognising Marketo's "this token is no good" answers: 601 (invalid) and 602 (expired). */

/** The REST error codes after which a fresh token must be fetched. */
export const TOKEN_REJECTION_CODES: ReadonlySet<string> = new Set(['601', '602']);

interface MarketoErrorEntry {
  readonly code?: unknown;
}

/**
 * The 601/602 code carried by `value`, if any: an error (or object) with a `code` of 601/602, or a Marketo
 * response body `{success:false, errors:[{code:"602", …}]}`. Anything else gives `undefined`.
 */
export function tokenRejectionCode(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  if ((typeof code === 'string' || typeof code === 'number') && TOKEN_REJECTION_CODES.has(String(code))) {
    return String(code);
  }
  const errors = (value as { errors?: unknown }).errors;
  if ((value as { success?: unknown }).success === false && Array.isArray(errors)) {
    for (const entry of errors as MarketoErrorEntry[]) {
      const entryCode = entry?.code;
      if (
        (typeof entryCode === 'string' || typeof entryCode === 'number') &&
        TOKEN_REJECTION_CODES.has(String(entryCode))
      ) {
        return String(entryCode);
      }
    }
  }
  return undefined;
}

/** Whether a Marketo HTTP response is a 601/602 rejection (Marketo answers those with HTTP 200 + JSON). */
export async function responseRejectionCode(response: Response): Promise<string | undefined> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json')) return undefined;
  try {
    return tokenRejectionCode(await response.clone().json());
  } catch {
    return undefined;
  }
}
