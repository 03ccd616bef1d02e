// Panels the wizard and the admin pages share: making a mailbox (with its
// card), the relay form, the DNS records with copy buttons, the doctor's
// findings, forwarding.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, get, messageOf, pathOf, send, type ClientSettings, type DnsAnswer, type DoctorReport, type Forwarding, type Mailbox, type RelayPreset, type RelaySettings } from './api.ts';
import { Button, Checkbox, CopyButton, Field, Form, MailboxCard, Notice, PasswordField, Select, useAction, useLoad } from './components.tsx';
import { formatTime, megabyte } from './format.ts';
import { text } from './text.ts';

export interface MadeMailbox {
  mailbox: Mailbox;
  password?: string;
  client: ClientSettings;
}

/** Makes a mailbox; the answer (with the password, shown once) goes to `onMade`, which shows its card. */
export function NewMailboxForm({ domains, onMade, withPassword = true, withQuota = true }: { domains: string[]; onMade: (made: MadeMailbox) => void; withPassword?: boolean; withQuota?: boolean }) {
  const [localPart, setLocalPart] = useState('');
  const [domain, setDomain] = useState(domains[0] ?? '');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [quota, setQuota] = useState('0');
  const action = useAction(['address', 'password', 'quotaBytes', 'displayName']);
  useEffect(() => {
    if (!domains.includes(domain) && domains[0]) setDomain(domains[0]);
  }, [domains.join(' ')]);
  const submit = () =>
    action.run(async () => {
      const address = localPart.includes('@') ? localPart.trim() : `${localPart.trim()}@${domain}`;
      const body: Record<string, unknown> = { address };
      if (displayName.trim()) body.displayName = displayName.trim();
      if (password) body.password = password;
      const quotaNumber = Number(quota);
      if (quota.trim() && Number.isFinite(quotaNumber) && quotaNumber > 0) body.quotaBytes = Math.round(quotaNumber * megabyte);
      const made = await send<MadeMailbox>('POST', '/api/admin/mailboxes', body);
      setLocalPart('');
      setDisplayName('');
      setPassword('');
      onMade(made);
      return text.mailboxes.created(made.mailbox.address);
    });
  return (
    <Form onSubmit={submit} label={text.mailboxes.add}>
      <div class="row">
        <Field label={text.mailboxes.localPart} value={localPart} onValue={setLocalPart} autoComplete="off" autoCapitalize="none" spellcheck={false} required error={action.fieldError('address')} />
        {domains.length > 1 ? (
          <Select label={text.mailboxes.domain} value={domain} onValue={setDomain} options={domains.map((name) => ({ value: name, label: `@${name}` }))} />
        ) : (
          <p class="at-domain name" aria-hidden="true">
            @{domain}
          </p>
        )}
      </div>
      <Field label={text.mailboxes.displayName} value={displayName} onValue={setDisplayName} autoComplete="off" error={action.fieldError('displayName')} />
      {withPassword && <PasswordField label={text.mailboxes.password} value={password} onValue={setPassword} autoComplete="new-password" error={action.fieldError('password')} />}
      {withQuota && <Field label={text.mailboxes.quota} value={quota} onValue={setQuota} type="number" min={0} inputMode="numeric" error={action.fieldError('quotaBytes')} />}
      <Notice tone="error">{action.formError}</Notice>
      <Notice tone="success">{action.done}</Notice>
      <div class="actions">
        <Button type="submit" busy={action.busy}>
          {text.mailboxes.submit}
        </Button>
      </div>
    </Form>
  );
}

export function MadeCards({ made }: { made: MadeMailbox[] }) {
  return (
    <div class="cards">
      {made.map((one) => (
        <MailboxCard key={one.mailbox.address} client={one.client} password={one.password} displayName={one.mailbox.displayName} />
      ))}
    </div>
  );
}

// --- relay -------------------------------------------------------------------

/** GET /api/admin/relay: the relay in use, or none (404 or null). */
export async function loadRelay(): Promise<RelaySettings | null> {
  try {
    const answer = await get<RelaySettings | { relay: RelaySettings | null } | null>('/api/admin/relay');
    if (answer && typeof answer === 'object' && 'relay' in answer) return answer.relay;
    return answer && (answer as RelaySettings).host ? (answer as RelaySettings) : null;
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404) return null;
    throw error;
  }
}

export function RelayForm({ current, onSaved }: { current: RelaySettings | null; onSaved: (relay: RelaySettings | null) => void }) {
  const presets = useLoad(async () => {
    const answer = await get<RelayPreset[] | { presets: RelayPreset[] } | { items: RelayPreset[] }>('/api/admin/relay/presets');
    return Array.isArray(answer) ? answer : 'presets' in answer ? answer.presets : answer.items;
  });
  const [preset, setPreset] = useState('');
  const [host, setHost] = useState(current?.host ?? '');
  const [port, setPort] = useState(String(current?.port ?? 587));
  const [security, setSecurity] = useState(current?.security ?? 'starttls');
  const [username, setUsername] = useState(current?.username ?? '');
  const [password, setPassword] = useState('');
  const [verify, setVerify] = useState(true);
  const action = useAction(['host', 'port', 'security', 'username', 'password']);
  const remove = useAction();
  const list = presets.value ?? [];
  const chosen = list.find((one) => presetKey(one) === preset);
  const choose = (key: string) => {
    setPreset(key);
    const one = list.find((candidate) => presetKey(candidate) === key);
    if (one) {
      setHost(one.host);
      setPort(String(one.port));
      setSecurity(one.security);
    }
  };
  const save = () =>
    action.run(async () => {
      const body: Record<string, unknown> = { host: host.trim(), port: Number(port), security, verify };
      if (username.trim()) body.username = username.trim();
      if (password) body.password = password;
      const saved = await send<RelaySettings | { relay: RelaySettings }>('PUT', '/api/admin/relay', body);
      setPassword('');
      onSaved(saved && 'relay' in saved ? saved.relay : { host: host.trim(), port: Number(port), security, username: username.trim() });
      return text.relay.saved;
    });
  const stop = () =>
    remove.run(async () => {
      try {
        await send('DELETE', '/api/admin/relay');
      } catch (error) {
        if (!(error instanceof ApiFailure && error.status === 404)) throw error;
      }
      onSaved(null);
      return text.relay.removed;
    });
  return (
    <div class="stack">
      <p class="muted name">{current ? text.relay.current(current.host, current.port) : text.relay.direct}</p>
      <Form onSubmit={save} label={text.relay.title}>
        {list.length > 0 && (
          <Select
            label={text.relay.preset}
            value={preset}
            onValue={choose}
            options={[{ value: '', label: text.relay.presetNone }, ...list.map((one) => ({ value: presetKey(one), label: one.name ?? one.host }))]}
            help={chosen?.note}
          />
        )}
        <Field label={text.relay.host} value={host} onValue={setHost} autoCapitalize="none" spellcheck={false} required error={action.fieldError('host')} />
        <div class="row">
          <Field label={text.relay.port} value={port} onValue={setPort} type="number" inputMode="numeric" min={1} max={65535} error={action.fieldError('port')} />
          <Select label={text.relay.security} value={security} onValue={setSecurity} options={['tls', 'starttls'].map((value) => ({ value, label: text.relay.securities[value] ?? value }))} />
        </div>
        <Field label={text.relay.username} value={username} onValue={setUsername} autoComplete="off" autoCapitalize="none" spellcheck={false} error={action.fieldError('username')} />
        <PasswordField label={current?.passwordSet ? text.relay.passwordKept : text.relay.password} value={password} onValue={setPassword} autoComplete="new-password" error={action.fieldError('password')} />
        <Checkbox label={text.relay.verify} checked={verify} onChange={setVerify} />
        <Notice tone="error">{action.formError}</Notice>
        <Notice tone="success">{action.done}</Notice>
        <div class="actions">
          <Button type="submit" busy={action.busy}>
            {text.relay.submit}
          </Button>
          {current && (
            <Button kind="secondary" busy={remove.busy} onClick={stop}>
              {text.relay.remove}
            </Button>
          )}
        </div>
        <Notice tone="error">{remove.formError}</Notice>
        <Notice tone="success">{remove.done}</Notice>
      </Form>
    </div>
  );
}

function presetKey(preset: RelayPreset): string {
  return preset.id;
}

// --- DNS ---------------------------------------------------------------------

export function DnsRecords({ domain }: { domain: string }) {
  const dns = useLoad(() => get<DnsAnswer>(pathOf('/api/admin/domains', domain, 'dns')), [domain]);
  if (dns.error) return <Notice tone="error">{dns.error}</Notice>;
  if (!dns.value) return <p class="muted">{text.loading}</p>;
  const { records, warnings } = dns.value;
  return (
    <div class="stack">
      {warnings.map((warning, index) => (
        <Notice key={index} tone="warning">
          {typeof warning === 'string' ? warning : warning.message}
        </Notice>
      ))}
      <ul class="records">
        {records.map((record, index) => (
          <li key={index} class="record card">
            <div class="record-head">
              <span class="badge">{record.type}</span>
              <span class="record-why">{record.why}</span>
            </div>
            <dl class="record-fields">
              <dt>{text.dns.name}</dt>
              <dd>
                <code class="mono name">{record.name}</code>
                <CopyButton value={record.name} what={text.dns.copyName(record.type, record.name)} />
              </dd>
              <dt>{text.dns.value}</dt>
              <dd>
                <code class="mono name">{record.value}</code>
                <CopyButton value={record.value} what={text.dns.copyValue(record.type, record.name)} />
              </dd>
            </dl>
          </li>
        ))}
      </ul>
      <div class="actions">
        <CopyButton value={records.map((record) => `${record.name} IN ${record.type} ${record.type === 'TXT' ? `"${record.value}"` : record.value}`).join('\n')} what={text.dns.zone} />
      </div>
    </div>
  );
}

// --- doctor ------------------------------------------------------------------

export function DoctorPanel() {
  const [report, setReport] = useState<DoctorReport>();
  const [error, setError] = useState<string>();
  const [unavailable, setUnavailable] = useState(false);
  const [running, setRunning] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const load = async (how: 'get' | 'run') => {
    clearTimeout(timer.current);
    try {
      const next = how === 'run' ? await send<DoctorReport>('POST', '/api/admin/doctor/run') : await get<DoctorReport>('/api/admin/doctor');
      setReport(next);
      setError(undefined);
      // While the checks run, ask again (bounded by the page staying open).
      if (next.running) timer.current = setTimeout(() => void load('get'), 2000);
    } catch (failure) {
      if (failure instanceof ApiFailure && (failure.status === 404 || failure.status === 503)) setUnavailable(true);
      else setError(messageOf(failure));
    }
  };
  useEffect(() => {
    void load('get');
    return () => clearTimeout(timer.current);
  }, []);
  const run = async () => {
    setRunning(true);
    await load('run');
    setRunning(false);
  };
  if (unavailable) return <p class="muted">{text.doctor.unavailable}</p>;
  const findings = report ? [...report.findings].sort((a, b) => rank(b.status) - rank(a.status)) : [];
  return (
    <div class="stack">
      <div class="actions actions-spread">
        <p class="muted" aria-live="polite">
          {report?.running ? text.doctor.running : report?.checkedAt ? text.doctor.checkedAt(formatTime(report.checkedAt)) : report ? text.doctor.never : text.loading}
        </p>
        <Button kind="secondary" busy={running || report?.running} onClick={run}>
          {text.doctor.run}
        </Button>
      </div>
      <Notice tone="error">{error}</Notice>
      {report && findings.length === 0 && !report.running && <p class="muted">{text.doctor.none}</p>}
      <ul class="findings">
        {findings.map((finding) => (
          <li key={finding.id} class={`finding card finding-${finding.status}`}>
            <div class="finding-head">
              <span class={`badge badge-${finding.status}`}>{text.doctor.status[finding.status] ?? finding.status}</span>
              <h3 class="finding-title name">{finding.title}</h3>
            </div>
            {finding.detail && <p class="name">{finding.detail}</p>}
            {finding.fix && finding.status !== 'ok' && (
              <p class="finding-fix">
                <strong>{text.doctor.fix}:</strong> {finding.fix}
              </p>
            )}
            {(finding.failures ?? 0) > 1 && finding.status !== 'ok' && <p class="help">{text.doctor.failures(finding.failures ?? 0)}</p>}
          </li>
        ))}
      </ul>
    </div>
  );
}

function rank(status: string): number {
  return { alarm: 3, warning: 2, unknown: 1, ok: 0 }[status] ?? 1;
}

// --- forwarding ----------------------------------------------------------------

/** `initial` when the page already has the forwarding (GET /api/me holds it; there is no GET of /api/me/forwarding). */
export function ForwardingForm({ url, initial }: { url: string; initial?: Forwarding }) {
  const loaded = useLoad(async () => initial ?? (await get<Forwarding>(url)), [url]);
  const [to, setTo] = useState<string>();
  const [keepCopy, setKeepCopy] = useState<boolean>();
  const action = useAction(['to']);
  if (loaded.error) return <Notice tone="error">{loaded.error}</Notice>;
  if (!loaded.value) return <p class="muted">{text.loading}</p>;
  const shownTo = to ?? loaded.value.to.join('\n');
  const shownKeep = keepCopy ?? loaded.value.keepCopy;
  const save = () =>
    action.run(async () => {
      const addresses = shownTo.split(/[\s,;]+/).filter(Boolean);
      const saved = await send<Forwarding>('PUT', url, { to: addresses, keepCopy: shownKeep });
      if (saved && Array.isArray(saved.to)) loaded.setValue(saved);
      setTo(undefined);
      setKeepCopy(undefined);
      return text.forwarding.saved;
    });
  return (
    <Form onSubmit={save} label={text.forwarding.title}>
      <Field label={text.forwarding.to} value={shownTo} onValue={setTo} multiline autoCapitalize="none" spellcheck={false} error={action.fieldError('to')} />
      <Checkbox label={text.forwarding.keepCopy} checked={shownKeep} onChange={setKeepCopy} />
      <Notice tone="error">{action.formError}</Notice>
      <Notice tone="success">{action.done}</Notice>
      <div class="actions">
        <Button type="submit" busy={action.busy}>
          {text.forwarding.submit}
        </Button>
      </div>
    </Form>
  );
}

export { messageOf };
