// The part of mailauth 4 the tests use to check DKIM signatures independently.
declare module 'mailauth/lib/dkim/verify.js' {
  export interface DkimResult {
    status: { result: string; comment?: string };
    signingDomain: string;
    selector: string;
    algo: string;
  }
  export function dkimVerify(input: Buffer, options?: { resolver?: (name: string, type: string) => Promise<unknown> }): Promise<{ results: DkimResult[] }>;
}
