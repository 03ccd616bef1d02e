// The smarthosts most home owners use, for the wizard's and the admin page's
// relay form: the host, port and security each provider documents for
// authenticated submission, and what its login needs. Nothing here is sent
// anywhere; the owner picks one and gives the user name and password.

import type { RelaySecurity } from '../store/index.ts';

export interface RelayPreset {
  id: string;
  name: string;
  host: string;
  port: number;
  security: RelaySecurity;
  /** Plain words: what the provider wants as user name and password. */
  note: string;
}

export const relayPresets: readonly RelayPreset[] = [
  {
    id: 'gmail',
    name: 'Gmail / Google Workspace',
    host: 'smtp.gmail.com',
    port: 587,
    security: 'starttls',
    note: 'User name: your full Gmail address. Password: an app password (Google account → Security → 2-Step Verification → App passwords); your normal password is refused. Google rewrites From to your Gmail address unless you add this domain as a "Send mail as" address.',
  },
  {
    id: 'outlook',
    name: 'Outlook.com / Microsoft 365',
    host: 'smtp.office365.com',
    port: 587,
    security: 'starttls',
    note: 'User name: your full Microsoft address. Use an app password if your account has two-step verification; Microsoft 365 business accounts need "Authenticated SMTP" turned on for the mailbox by their admin. Outlook.com personal accounts may refuse basic sign-in: a relay service is then the surer way.',
  },
  {
    id: 'fastmail',
    name: 'Fastmail',
    host: 'smtp.fastmail.com',
    port: 465,
    security: 'tls',
    note: 'User name: your full Fastmail address. Password: an app password (Settings → Privacy & Security → App passwords, access "SMTP"). Add this domain or address as a sending identity to send as it.',
  },
  {
    id: 'icloud',
    name: 'iCloud Mail',
    host: 'smtp.mail.me.com',
    port: 587,
    security: 'starttls',
    note: 'User name: your iCloud address (name@icloud.com). Password: an app-specific password from appleid.apple.com (Sign-In and Security → App-Specific Passwords). Apple only sends as your iCloud addresses or a custom domain set up in iCloud+.',
  },
  {
    id: 'mailbox-org',
    name: 'mailbox.org',
    host: 'smtp.mailbox.org',
    port: 465,
    security: 'tls',
    note: 'User name: your mailbox.org address. Password: your account password, or an app password if you use two-factor sign-in. Sending as another domain needs it added as an alias or custom domain there.',
  },
  {
    id: 'gmx',
    name: 'GMX',
    host: 'mail.gmx.net',
    port: 587,
    security: 'starttls',
    note: 'User name: your GMX address. Turn on "POP3/IMAP access" in the GMX settings first (E-Mail → Settings → POP3 & IMAP); use an app password if two-factor sign-in is on. GMX sends only as your GMX addresses.',
  },
  {
    id: 'posteo',
    name: 'Posteo',
    host: 'posteo.de',
    port: 587,
    security: 'starttls',
    note: 'User name: your Posteo address. Password: your Posteo password. Posteo sends only as your Posteo addresses and aliases.',
  },
  {
    id: 'brevo',
    name: 'Brevo (Sendinblue)',
    host: 'smtp-relay.brevo.com',
    port: 587,
    security: 'starttls',
    note: 'User name: the SMTP login Brevo shows (Settings → SMTP & API → SMTP). Password: an SMTP key made there, not your account password. Verify this domain in Brevo so that your mail is signed and delivered.',
  },
  {
    id: 'smtp2go',
    name: 'SMTP2GO',
    host: 'mail.smtp2go.com',
    port: 587,
    security: 'starttls',
    note: 'User name and password: an SMTP user made in SMTP2GO (Sending → SMTP Users). Verify this domain as a sender domain there.',
  },
  {
    id: 'generic',
    name: 'Another provider (your ISP)',
    host: '',
    port: 587,
    security: 'starttls',
    note: 'Your provider’s help pages name the "outgoing mail server" (SMTP): usually port 587 with STARTTLS, or 465 with TLS. The user name is usually your full address; many providers need an app password for programs.',
  },
];
