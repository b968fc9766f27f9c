/**
 * Who holds a permit (issue 22, "one consumer cannot block another"): the client (or pool) it was taken
 * through and the principal that asked. A concurrency lease is stored under a key that names both, so a
 * release only finds the lease when it comes from the same principal through the same client, and the
 * leases of one client can be counted against its share of the instance.
 */
import { createHash } from 'node:crypto';

/** The caller of a budget route. */
export interface PermitHolder {
  /** The route's target: a client id, or a pool's instance name. */
  readonly target: { readonly clientId: string } | { readonly instance: string };
  /**
   * The calling principal: API Gateway's `requestContext.identity.userArn` (local mode: the key's
   * principal). Never shown to other consumers; leases carry only a hash of it.
   */
  readonly principal: string;
}

/** The vendor itself, for the calls it makes on an instance's budget (usage.json). */
export const VENDOR_HOLDER: PermitHolder = Object.freeze({
  target: Object.freeze({ clientId: '(vendor)' }),
  principal: 'marketo-token-vendor',
});

/** `c:<clientId>` or `p:<instance>`: how a lease names the client (or pool) it counts against. */
export const holderClient = (holder: PermitHolder): string =>
  'clientId' in holder.target ? `c:${holder.target.clientId}` : `p:${holder.target.instance}`;

/** 12 hex characters of SHA-256: enough to tell principals apart, too short to be worth storing names. */
const principalTag = (principal: string): string =>
  createHash('sha256').update(principal).digest('hex').slice(0, 12);

/**
 * The key a permit's lease is stored under: `<client>|<principal tag>|<permit id>`, or the bare permit id
 * when nobody in particular holds it (operators' tools, older leases).
 */
export const leaseKey = (permitId: string, holder: PermitHolder | undefined): string =>
  holder === undefined ? permitId : `${holderClient(holder)}|${principalTag(holder.principal)}|${permitId}`;

/** The client part of a lease key (`undefined` for a bare permit id). */
export const leaseClient = (key: string): string | undefined => {
  const bar = key.indexOf('|');
  return bar < 0 ? undefined : key.slice(0, bar);
};
