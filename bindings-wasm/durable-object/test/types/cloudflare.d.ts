// The few Workers runtime types src/index.d.ts names, so `tsc` can check it without the
// full @cloudflare/workers-types package (test/types/tsconfig.json).
declare module "cloudflare:workers" {
  export abstract class DurableObject<Env = unknown> {
    protected ctx: unknown;
    protected env: Env;
    constructor(ctx: unknown, env: Env);
  }
}
type DurableObjectStub<T> = { [K in keyof T]: T[K] };
