import type { PolicyDocument } from './apigw-authz-evaluator.js';

/**
 * Reads the policies API Gateway would evaluate out of a synthesized CloudFormation template, with its
 * intrinsics resolved to the concrete strings of one imagined deployment (fixed account, region and API
 * id), so the evaluator sees what AWS would see.
 */

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

export interface Deployment {
  readonly account: string;
  readonly region: string;
  /** The RestApi's id (what `Ref` of the RestApi returns). */
  readonly apiId: string;
}

const PARTITION = 'aws';

/** `arn:aws:iam::<account>:role/<logicalId>`: the ARN an in-stack role gets in this imagined deployment. */
export const roleArnOf = (deployment: Deployment, logicalId: string): string =>
  `arn:${PARTITION}:iam::${deployment.account}:role/${logicalId}`;

/** The full execute-api ARN of one method call: `arn:aws:execute-api:…:<apiId>/<stage>/<METHOD>/<path>`. */
export const methodArnOf = (deployment: Deployment, stage: string, method: string, path: string): string =>
  `arn:${PARTITION}:execute-api:${deployment.region}:${deployment.account}:${deployment.apiId}/${stage}/${method}${path}`;

/**
 * AWS managed policies the reader knows, by name, with the statements AWS publishes for them. A role with any
 * other managed policy makes the reader throw rather than ignore what it may allow.
 */
const AWS_MANAGED_POLICIES: Readonly<Record<string, PolicyDocument>> = {
  // https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
  'service-role/AWSLambdaBasicExecutionRole': {
    Statement: [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: '*',
      },
    ],
  },
};

export class TemplatePolicies {
  private readonly resources: Resources;
  private readonly apiLogicalId: string;

  constructor(
    template: { Resources?: Resources },
    private readonly deployment: Deployment,
  ) {
    this.resources = template.Resources ?? {};
    const apis = Object.keys(this.resources).filter(
      (id) => this.resources[id]?.Type === 'AWS::ApiGateway::RestApi',
    );
    if (apis.length !== 1) throw new Error(`expected one RestApi, found ${apis.length}`);
    this.apiLogicalId = apis[0] as string;
  }

  /** Logical id of the one AWS::IAM::Role whose id starts with `prefix` (construct path). */
  roleId(prefix: string): string {
    const ids = Object.keys(this.resources).filter(
      (id) => id.startsWith(prefix) && this.resources[id]?.Type === 'AWS::IAM::Role',
    );
    if (ids.length !== 1)
      throw new Error(`expected one role starting with ${prefix}, found ${ids.join(', ')}`);
    return ids[0] as string;
  }

  /**
   * The RestApi's resource policy with every intrinsic resolved and API Gateway's abbreviated resources
   * (`execute-api:/<stage>/…`) expanded to full ARNs, as API Gateway does when it saves the policy
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-policy-language-overview.html).
   */
  resourcePolicy(): PolicyDocument | undefined {
    const policy = this.resources[this.apiLogicalId]?.Properties?.Policy;
    if (policy === undefined) return undefined;
    const resolved = this.resolve(policy) as PolicyDocument;
    const apiArn = `arn:${PARTITION}:execute-api:${this.deployment.region}:${this.deployment.account}:${this.deployment.apiId}`;
    const expand = (resource: string): string =>
      resource.startsWith('execute-api:/') ? `${apiArn}${resource.slice('execute-api:'.length)}` : resource;
    return {
      Statement: resolved.Statement.map((s) => ({
        ...s,
        Resource: s.Resource === undefined ? undefined : [s.Resource].flat().map(expand),
      })),
    };
  }

  /**
   * Identity policies the stack gives one role: an in-stack role's inline `Policies` and every
   * AWS::IAM::Policy naming it (by `Ref`), or, for an imported role, every AWS::IAM::Policy naming it by name.
   */
  identityPolicies(
    role: { readonly logicalId: string } | { readonly importedName: string },
  ): PolicyDocument[] {
    let inline: unknown[] = [];
    let reference: unknown;
    if ('logicalId' in role) {
      const resource = this.resources[role.logicalId];
      if (resource?.Type !== 'AWS::IAM::Role') throw new Error(`${role.logicalId} is not a role`);
      const managed = ((resource.Properties?.ManagedPolicyArns as unknown[] | undefined) ?? []).map((arn) => {
        const name = String(this.resolve(arn)).replace(/^arn:[^:]+:iam::aws:policy\//, '');
        const document = AWS_MANAGED_POLICIES[name];
        if (document === undefined) {
          throw new Error(
            `${role.logicalId} has the managed policy ${name}, which this reader does not model`,
          );
        }
        return document;
      });
      const policies = resource.Properties?.Policies as Array<{ PolicyDocument: unknown }> | undefined;
      inline = [...(policies ?? []).map((p) => p.PolicyDocument), ...managed];
      reference = { Ref: role.logicalId };
    } else {
      reference = role.importedName;
    }
    const attached = Object.values(this.resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .filter((r) =>
        ((r.Properties?.Roles as unknown[] | undefined) ?? []).some(
          (entry) => JSON.stringify(entry) === JSON.stringify(reference),
        ),
      )
      .map((r) => r.Properties?.PolicyDocument);
    return [...inline, ...attached].map((d) => this.resolve(d) as PolicyDocument);
  }

  /** Resolves `Ref`, `Fn::GetAtt` (role ARNs) and `Fn::Join` to strings; anything else is kept as is. */
  private resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (keys.length === 1 && keys[0] === 'Ref') return this.ref(object.Ref as string);
    if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
      const [id, attribute] = object['Fn::GetAtt'] as [string, string];
      if (this.resources[id]?.Type === 'AWS::IAM::Role' && attribute === 'Arn') {
        return roleArnOf(this.deployment, id);
      }
      throw new Error(`Fn::GetAtt ${id}.${attribute} is not modelled`);
    }
    if (keys.length === 1 && keys[0] === 'Fn::Join') {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => this.resolve(p)).join(separator);
    }
    if (keys.some((k) => k.startsWith('Fn::'))) throw new Error(`${keys[0]} is not modelled`);
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, this.resolve(v)]));
  }

  private ref(name: string): string {
    switch (name) {
      case 'AWS::AccountId':
        return this.deployment.account;
      case 'AWS::Region':
        return this.deployment.region;
      case 'AWS::Partition':
        return PARTITION;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case this.apiLogicalId:
        return this.deployment.apiId;
      default:
        if (this.resources[name]?.Type === 'AWS::IAM::Role') return name;
        throw new Error(`Ref ${name} is not modelled`);
    }
  }
}
