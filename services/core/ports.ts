// Standard ports. Every service listens on its standard port plus the
// configured port offset (0 on the appliance, 10000 in development).

export const standardPorts = {
  smtp: 25,
  submission: 587,
  submissions: 465,
  imap: 143,
  imaps: 993,
  pop3: 110,
  pop3s: 995,
  managesieve: 4190,
  http: 80,
  https: 443,
} as const;

export type PortName = keyof typeof standardPorts;

export function portFor(name: PortName, offset: number): number {
  return standardPorts[name] + offset;
}
