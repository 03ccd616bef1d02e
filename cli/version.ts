// The version is written into the bundle by scripts/build.ts; running from
// source (tests, tsx) reports 'dev'.

declare const MAILNEST_VERSION: string | undefined;

export const version: string = typeof MAILNEST_VERSION === 'string' ? MAILNEST_VERSION : 'dev';
