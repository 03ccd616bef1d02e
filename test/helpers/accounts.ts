// What tests that make accounts share.

/**
 * The password of the test users. It passes the store's password rule (at
 * least 10 characters, not a common password); a test that logs in uses this.
 */
export const testPassword = 'sesame-tulip-42';
