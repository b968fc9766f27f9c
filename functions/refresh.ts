/** Placeholder until the refresh handler lands: the CDK construct bundles this entry. */
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
