// The part of mailauth 4 the authentication stage calls (the package ships no types).

declare module 'mailauth/lib/spf/index.js' {
  export function spf(options: { sender: string; ip: string; helo: string; mta: string; resolver: (name: string, type: string) => Promise<unknown> }): Promise<{ domain: string; status: { result: string; comment?: string }; info: string; header: string }>;
}

declare module 'mailauth/lib/dmarc/index.js' {
  export function dmarc(options: {
    headerFrom: string | string[];
    spfDomains: string[];
    dkimDomains: { id?: string; domain: string; aligned?: unknown; underSized?: unknown }[];
    arcResult?: unknown;
    resolver: (name: string, type: string) => Promise<unknown>;
  }): Promise<{ status?: { result: string }; domain?: string; policy?: string; p?: string; info?: string }>;
}

declare module 'mailauth/lib/arc/index.js' {
  export function arc(chain: unknown, options: { resolver: (name: string, type: string) => Promise<unknown> }): Promise<{ status?: { result: string }; info?: string }>;
}

declare module 'mailauth/lib/dkim/verify.js' {
  export interface DkimResult {
    id?: string;
    status: { result: string; comment?: string; aligned?: unknown; underSized?: unknown };
    signingDomain: string;
    selector: string;
    algo: string;
    info: string;
  }
  export function dkimVerify(
    input: Buffer | NodeJS.ReadableStream,
    options?: { resolver?: (name: string, type: string) => Promise<unknown>; sender?: string },
  ): Promise<{ results: DkimResult[]; headerFrom?: string | string[]; arc?: unknown }>;
}
