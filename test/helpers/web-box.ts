// A box that is set up, for the admin and self-service API tests: the real
// services on ephemeral ports, the family's domain and users, the admin
// password, setup state complete; browsers (WebClient over HTTPS) signed in
// as the admin or as a mail user through POST /api/session.

import type { ExecutionContext } from 'ava';
import { addFamily, startServices, testPassword, type TestServices } from './services.ts';
import { boxCertificate, WebClient } from './web-client.ts';

export const adminPassword = 'correct horse battery staple';

export interface WebBox extends TestServices {
  browser(): WebClient;
  signedIn(username: string, password?: string): Promise<WebClient>;
}

export async function setUpWebBox(t: ExecutionContext, options: Parameters<typeof startServices>[1] = {}): Promise<WebBox> {
  const env = await startServices(t, options);
  await addFamily(env.services);
  await env.services.store.admin.setPassword(adminPassword);
  env.services.store.setup.move(['unclaimed', 'claimed'], 'complete');
  const ca = boxCertificate(env.data);
  const browser = () => new WebClient(env.ports.https!, ca);
  return {
    ...env,
    browser,
    async signedIn(username, password = username === 'admin' ? adminPassword : testPassword) {
      const client = browser();
      const answer = await client.post('/api/session', { username, password });
      if (answer.status !== 200) throw new Error(`could not sign in as ${username}: ${answer.status} ${answer.text}`);
      return client;
    },
  };
}
