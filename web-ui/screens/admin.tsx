// The admin pages (/admin/...): mailboxes, domains, aliases, the queue,
// relay and transports, the DNS check with the doctor, the system page.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { get, pathOf, send, type Mailbox, type Page } from '../api.ts';
import { Button, ConfirmButton, Field, Form, Link, ListStatus, Notice, Pager, PasswordField, QuotaMeter, SearchBox, Select, useAction, useLoad, usePagedList } from '../components.tsx';
import { formatBytes, formatDuration, formatTime, megabyte } from '../format.ts';
import { DnsRecords, DoctorPanel, ForwardingForm, loadRelay, MadeCards, NewMailboxForm, RelayForm, type MadeMailbox } from '../panels.tsx';
import { navigate } from '../router.ts';
import { text } from '../text.ts';

export const adminPages = ['mailboxes', 'domains', 'aliases', 'queue', 'relay', 'dns', 'system'] as const;
export type AdminPage = (typeof adminPages)[number];

export function AdminNav({ current }: { current: AdminPage | undefined }) {
  return (
    <nav class="admin-nav" aria-label={text.nav.label}>
      <ul>
        {adminPages.map((page) => (
          <li key={page}>
            <Link href={`/admin/${page}`} class={page === current ? 'nav-link nav-current' : 'nav-link'}>
              <span aria-current={page === current ? 'page' : undefined}>{text.nav[page]}</span>
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function AdminPageView({ page, search }: { page: AdminPage; search: URLSearchParams }) {
  switch (page) {
    case 'mailboxes':
      return <MailboxesPage />;
    case 'domains':
      return <DomainsPage />;
    case 'aliases':
      return <AliasesPage />;
    case 'queue':
      return <QueuePage />;
    case 'relay':
      return <RelayPage />;
    case 'dns':
      return <DnsPage domain={search.get('domain') ?? undefined} />;
    case 'system':
      return <SystemPage />;
  }
}

function PageHeading({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1 id="page-heading" tabIndex={-1}>
        {title}
      </h1>
      {children}
    </header>
  );
}

function useDomainNames(): string[] {
  const domains = useLoad(async () => (await get<Page<{ name: string }>>('/api/admin/domains?limit=200')).items.map((one) => one.name));
  return domains.value ?? [];
}

// --- mailboxes ---------------------------------------------------------------------

function MailboxesPage() {
  const list = usePagedList<Mailbox>('/api/admin/mailboxes');
  const domains = useDomainNames();
  const [made, setMade] = useState<MadeMailbox[]>([]);
  const [open, setOpen] = useState<string>();
  return (
    <div class="stack">
      <PageHeading title={text.mailboxes.title} />
      <section class="panel" aria-labelledby="new-mailbox">
        <h2 id="new-mailbox">{text.mailboxes.add}</h2>
        {domains.length === 0 ? (
          <p class="muted">
            {text.dns.noDomains} <Link href="/admin/domains">{text.nav.domains}</Link>
          </p>
        ) : (
          <NewMailboxForm
            domains={domains}
            onMade={(one) => {
              setMade((all) => [one, ...all]);
              void list.reload();
            }}
          />
        )}
        <MadeCards made={made} />
      </section>
      <section class="panel" aria-labelledby="mailbox-list">
        <h2 id="mailbox-list">{text.mailboxes.title}</h2>
        <SearchBox what={text.mailboxes.what} onSearch={list.search} />
        <ListStatus list={list} />
        <ul class="rows">
          {list.page?.items.map((mailbox) => (
            <li key={mailbox.address} class="row-item">
              <div class="row-main">
                <div class="row-title">
                  <span class="name strong">{mailbox.address}</span>
                  <span class={`badge ${mailbox.enabled ? 'badge-ok' : 'badge-off'}`}>{mailbox.enabled ? text.mailboxes.enabled : text.mailboxes.disabled}</span>
                </div>
                {mailbox.displayName && <p class="muted name">{mailbox.displayName}</p>}
                <QuotaMeter used={mailbox.usedBytes} limit={mailbox.quotaBytes} label={text.mailboxes.used} />
              </div>
              <Button
                kind="secondary"
                aria-expanded={open === mailbox.address}
                aria-label={open === mailbox.address ? text.mailboxes.hide(mailbox.address) : text.mailboxes.manage(mailbox.address)}
                onClick={() => setOpen(open === mailbox.address ? undefined : mailbox.address)}
              >
                {open === mailbox.address ? text.mailboxes.closeShort : text.mailboxes.manageShort}
              </Button>
              {open === mailbox.address && <MailboxDetail mailbox={mailbox} onChanged={list.reload} onDeleted={() => { setOpen(undefined); void list.reload(); }} />}
            </li>
          ))}
        </ul>
        <Pager list={list} />
      </section>
    </div>
  );
}

function MailboxDetail({ mailbox, onChanged, onDeleted }: { mailbox: Mailbox; onChanged: () => Promise<void>; onDeleted: () => void }) {
  const url = pathOf('/api/admin/mailboxes', mailbox.address);
  const [quota, setQuota] = useState(String(Math.round(mailbox.quotaBytes / megabyte)));
  const [password, setPassword] = useState('');
  const [newPassword, setNewPassword] = useState<string>();
  const quotaAction = useAction(['quotaBytes']);
  const enableAction = useAction();
  const resetAction = useAction(['password']);
  const deleteAction = useAction();
  const saveQuota = () =>
    quotaAction.run(async () => {
      await send('PATCH', url, { quotaBytes: Math.max(0, Math.round(Number(quota) * megabyte)) });
      await onChanged();
      return text.mailboxes.quotaSaved;
    });
  const toggle = () =>
    enableAction.run(async () => {
      await send('PATCH', url, { enabled: !mailbox.enabled });
      await onChanged();
      return mailbox.enabled ? text.mailboxes.disabledNow(mailbox.address) : text.mailboxes.enabledNow(mailbox.address);
    });
  const reset = () =>
    resetAction.run(async () => {
      const answer = await send<{ password?: string }>('POST', `${url}/password`, password ? { password } : {});
      setPassword('');
      setNewPassword(answer.password);
      return text.mailboxes.resetDone(mailbox.address);
    });
  const remove = () =>
    deleteAction.run(async () => {
      await send('DELETE', url);
      onDeleted();
    });
  return (
    <div class="detail">
      <Form onSubmit={saveQuota} label={text.mailboxes.quotaSave}>
        <div class="row row-end">
          <Field label={text.mailboxes.quota} value={quota} onValue={setQuota} type="number" min={0} inputMode="numeric" error={quotaAction.fieldError('quotaBytes')} />
          <Button type="submit" kind="secondary" busy={quotaAction.busy}>
            {text.mailboxes.quotaSave}
          </Button>
        </div>
        <Notice tone="error">{quotaAction.formError}</Notice>
        <Notice tone="success">{quotaAction.done}</Notice>
      </Form>
      <div class="actions">
        <Button kind="secondary" busy={enableAction.busy} onClick={toggle}>
          {mailbox.enabled ? text.mailboxes.disable : text.mailboxes.enable}
        </Button>
      </div>
      <Notice tone="error">{enableAction.formError}</Notice>
      <Notice tone="success">{enableAction.done}</Notice>
      <h3>{text.mailboxes.resetTitle}</h3>
      <Form onSubmit={reset} label={text.mailboxes.resetTitle}>
        <PasswordField label={text.mailboxes.resetLabel} value={password} onValue={setPassword} autoComplete="new-password" error={resetAction.fieldError('password')} />
        <Notice tone="error">{resetAction.formError}</Notice>
        <Notice tone="success">{resetAction.done}</Notice>
        {newPassword && (
          <p>
            {text.mailboxes.newPassword}: <code class="secret">{newPassword}</code>
          </p>
        )}
        <div class="actions">
          <Button type="submit" kind="secondary" busy={resetAction.busy}>
            {text.mailboxes.resetSubmit}
          </Button>
        </div>
      </Form>
      <h3>{text.forwarding.title}</h3>
      <ForwardingForm url={`${url}/forwarding`} />
      <ConfirmButton label={text.mailboxes.delete(mailbox.address)} shown={text.mailboxes.deleteShort} question={text.mailboxes.confirmDelete(mailbox.address)} busy={deleteAction.busy} onConfirm={remove} />
      <Notice tone="error">{deleteAction.formError}</Notice>
    </div>
  );
}

// --- domains -------------------------------------------------------------------------

interface DomainItem {
  name: string;
  displayName: string;
  users: number;
  aliases: number;
}

function DomainsPage() {
  const list = usePagedList<DomainItem>('/api/admin/domains');
  const [name, setName] = useState('');
  const add = useAction(['name']);
  const remove = useAction();
  const submit = () =>
    add.run(async () => {
      const answer = await send<{ domain: DomainItem }>('POST', '/api/admin/domains', { name: name.trim() });
      setName('');
      await list.reload();
      return text.domains.added(answer.domain.name);
    });
  return (
    <div class="stack">
      <PageHeading title={text.domains.title} />
      <section class="panel" aria-labelledby="new-domain">
        <h2 id="new-domain">{text.domains.add}</h2>
        <Form onSubmit={submit} label={text.domains.add}>
          <Field label={text.domains.name} value={name} onValue={setName} autoCapitalize="none" spellcheck={false} required error={add.fieldError('name')} />
          <Notice tone="error">{add.formError}</Notice>
          <Notice tone="success">{add.done}</Notice>
          <div class="actions">
            <Button type="submit" busy={add.busy}>
              {text.domains.submit}
            </Button>
          </div>
        </Form>
      </section>
      <section class="panel" aria-labelledby="domain-list">
        <h2 id="domain-list">{text.domains.title}</h2>
        <SearchBox what={text.domains.what} onSearch={list.search} />
        <ListStatus list={list} />
        <Notice tone="error">{remove.formError}</Notice>
        <Notice tone="success">{remove.done}</Notice>
        <ul class="rows">
          {list.page?.items.map((domain) => (
            <li key={domain.name} class="row-item">
              <div class="row-main">
                <span class="name strong">{domain.name}</span>
                <p class="muted">{text.domains.mailboxes(domain.users)}</p>
              </div>
              <div class="actions">
                <Link href={`/admin/dns?domain=${encodeURIComponent(domain.name)}`} class="button button-secondary">
                  {text.domains.dns}
                </Link>
                <ConfirmButton
                  label={text.domains.delete(domain.name)}
                  shown={text.mailboxes.deleteShort}
                  question={text.domains.confirmDelete(domain.name)}
                  busy={remove.busy}
                  onConfirm={() =>
                    remove.run(async () => {
                      await send('DELETE', pathOf('/api/admin/domains', domain.name));
                      await list.reload();
                      return text.domains.deleted(domain.name);
                    })
                  }
                />
              </div>
            </li>
          ))}
        </ul>
        <Pager list={list} />
      </section>
    </div>
  );
}

// --- aliases ---------------------------------------------------------------------------

interface AliasItem {
  source: string;
  destinations: string[];
}

function AliasesPage() {
  const list = usePagedList<AliasItem>('/api/admin/aliases');
  const [source, setSource] = useState('');
  const [destinations, setDestinations] = useState('');
  const add = useAction(['source', 'destinations']);
  const remove = useAction();
  const submit = () =>
    add.run(async () => {
      const answer = await send<{ alias: AliasItem }>('POST', '/api/admin/aliases', { source: source.trim(), destinations: destinations.split(/[\s,;]+/).filter(Boolean) });
      setSource('');
      setDestinations('');
      await list.reload();
      return text.aliases.added(answer.alias.source);
    });
  const drop = (alias: AliasItem, destination?: string) =>
    remove.run(async () => {
      const query = destination ? `?${new URLSearchParams({ destination })}` : '';
      await send('DELETE', `${pathOf('/api/admin/aliases', alias.source)}${query}`);
      await list.reload();
      return text.aliases.deleted(destination ?? alias.source);
    });
  return (
    <div class="stack">
      <PageHeading title={text.aliases.title} />
      <section class="panel" aria-labelledby="new-alias">
        <h2 id="new-alias">{text.aliases.add}</h2>
        <Form onSubmit={submit} label={text.aliases.add}>
          <Field label={text.aliases.source} value={source} onValue={setSource} autoCapitalize="none" spellcheck={false} required error={add.fieldError('source')} />
          <Field label={text.aliases.destinations} value={destinations} onValue={setDestinations} multiline autoCapitalize="none" spellcheck={false} error={add.fieldError('destinations')} />
          <Notice tone="error">{add.formError}</Notice>
          <Notice tone="success">{add.done}</Notice>
          <div class="actions">
            <Button type="submit" busy={add.busy}>
              {text.aliases.submit}
            </Button>
          </div>
        </Form>
      </section>
      <section class="panel" aria-labelledby="alias-list">
        <h2 id="alias-list">{text.aliases.title}</h2>
        <SearchBox what={text.aliases.what} onSearch={list.search} />
        <ListStatus list={list} />
        <Notice tone="error">{remove.formError}</Notice>
        <Notice tone="success">{remove.done}</Notice>
        <ul class="rows">
          {list.page?.items.map((alias) => (
            <li key={alias.source} class="row-item">
              <div class="row-main">
                <span class="name strong">{alias.source}</span>
                <span class="muted"> {text.aliases.goesTo}</span>
                <ul class="chips">
                  {alias.destinations.map((destination) => (
                    <li key={destination} class="chip">
                      <span class="name">{destination}</span>
                      {alias.destinations.length > 1 && (
                        <button type="button" class="chip-remove" aria-label={text.aliases.removeDestination(destination, alias.source)} onClick={() => void drop(alias, destination)}>
                          ×
                        </button>
                      )}
                    </li>
                  ))}
                </ul>
              </div>
              <ConfirmButton label={text.aliases.delete(alias.source)} shown={text.mailboxes.deleteShort} question={text.aliases.delete(alias.source)} busy={remove.busy} onConfirm={() => void drop(alias)} />
            </li>
          ))}
        </ul>
        <Pager list={list} />
      </section>
    </div>
  );
}

// --- queue -------------------------------------------------------------------------------

interface QueueItem {
  id: number;
  sender: string;
  recipient: string;
  subject?: string | null;
  size: number;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
}

function QueuePage() {
  const list = usePagedList<QueueItem>('/api/admin/queue');
  const action = useAction();
  const retry = (id?: number) =>
    action.run(async () => {
      await send('POST', id === undefined ? '/api/admin/queue/retry' : `/api/admin/queue/${id}/retry`);
      await list.reload();
      return text.queue.retried;
    });
  const remove = (id: number) =>
    action.run(async () => {
      await send('DELETE', `/api/admin/queue/${id}`);
      await list.reload();
      return text.queue.deleted;
    });
  return (
    <div class="stack">
      <PageHeading title={text.queue.title}>
        <p class="muted">{text.queue.intro}</p>
      </PageHeading>
      <section class="panel" aria-labelledby="queue-list">
        <div class="actions actions-spread">
          <h2 id="queue-list">{text.queue.title}</h2>
          {(list.page?.total ?? 0) > 0 && (
            <Button kind="secondary" busy={action.busy} onClick={() => void retry()}>
              {text.queue.retryAll}
            </Button>
          )}
        </div>
        <SearchBox what={text.queue.what} onSearch={list.search} />
        <ListStatus list={list} empty={text.queue.empty} />
        <Notice tone="error">{action.formError}</Notice>
        <Notice tone="success">{action.done}</Notice>
        <ul class="rows">
          {list.page?.items.map((item) => (
            <li key={item.id} class="row-item">
              <div class="row-main">
                {item.subject && <p class="strong name">{item.subject}</p>}
                <dl class="pairs">
                  <dt>{text.queue.from}</dt>
                  <dd class="name">{item.sender || '<>'}</dd>
                  <dt>{text.queue.to}</dt>
                  <dd class="name">{item.recipient}</dd>
                  <dt>{text.queue.size}</dt>
                  <dd>{formatBytes(item.size)}</dd>
                  <dt>{text.queue.attempts}</dt>
                  <dd>{item.attempts}</dd>
                  <dt>{text.queue.nextAttempt}</dt>
                  <dd>{formatTime(item.nextAttemptAt)}</dd>
                  {item.lastError && (
                    <>
                      <dt>{text.queue.lastError}</dt>
                      <dd class="name mono">{item.lastError}</dd>
                    </>
                  )}
                </dl>
              </div>
              <div class="actions">
                <Button kind="secondary" busy={action.busy} onClick={() => void retry(item.id)} aria-label={text.queue.retry(String(item.id))}>
                  {text.queue.retry(String(item.id))}
                </Button>
                <ConfirmButton label={text.queue.delete(String(item.id))} question={text.queue.confirmDelete} busy={action.busy} onConfirm={() => void remove(item.id)} />
              </div>
            </li>
          ))}
        </ul>
        <Pager list={list} />
      </section>
    </div>
  );
}

// --- relay and transports ----------------------------------------------------------------------

interface TransportItem {
  domain: string;
  host: string;
  port: number;
}

function RelayPage() {
  const relay = useLoad(loadRelay);
  const transports = usePagedList<TransportItem>('/api/admin/transports');
  const [domain, setDomain] = useState('');
  const [destination, setDestination] = useState('');
  const add = useAction(['destination', 'domain']);
  const remove = useAction();
  const submit = () =>
    add.run(async () => {
      await send('PUT', pathOf('/api/admin/transports', domain.trim()), { destination: destination.trim() });
      setDomain('');
      setDestination('');
      await transports.reload();
      return text.transports.saved;
    });
  return (
    <div class="stack">
      <PageHeading title={text.relay.title}>
        <p class="muted">{text.relay.intro}</p>
      </PageHeading>
      <section class="panel" aria-labelledby="relay-form">
        <h2 id="relay-form">{text.relay.title}</h2>
        <Notice tone="error">{relay.error}</Notice>
        {relay.value !== undefined && <RelayForm current={relay.value} onSaved={(saved) => relay.setValue(saved)} />}
      </section>
      <section class="panel" aria-labelledby="transport-list">
        <h2 id="transport-list">{text.transports.title}</h2>
        <p class="muted">{text.transports.intro}</p>
        <ListStatus list={transports} empty={text.transports.empty} />
        <Notice tone="error">{remove.formError}</Notice>
        <Notice tone="success">{remove.done}</Notice>
        <ul class="rows">
          {transports.page?.items.map((transport) => (
            <li key={transport.domain} class="row-item">
              <div class="row-main">
                <span class="name strong">{transport.domain}</span> → <span class="name mono">{`${transport.host}:${transport.port}`}</span>
              </div>
              <Button
                kind="secondary"
                busy={remove.busy}
                onClick={() =>
                  void remove.run(async () => {
                    await send('DELETE', pathOf('/api/admin/transports', transport.domain));
                    await transports.reload();
                    return text.transports.deleted;
                  })
                }
              >
                {text.transports.delete(transport.domain)}
              </Button>
            </li>
          ))}
        </ul>
        <Pager list={transports} />
        <Form onSubmit={submit} label={text.transports.submit}>
          <div class="row">
            <Field label={text.transports.domain} value={domain} onValue={setDomain} autoCapitalize="none" spellcheck={false} error={add.fieldError('domain')} />
            <Field label={text.transports.destination} value={destination} onValue={setDestination} autoCapitalize="none" spellcheck={false} error={add.fieldError('destination')} />
          </div>
          <Notice tone="error">{add.formError}</Notice>
          <Notice tone="success">{add.done}</Notice>
          <div class="actions">
            <Button type="submit" busy={add.busy}>
              {text.transports.submit}
            </Button>
          </div>
        </Form>
      </section>
    </div>
  );
}

// --- DNS check ---------------------------------------------------------------------------------

function DnsPage({ domain }: { domain: string | undefined }) {
  const names = useDomainNames();
  const chosen = domain && names.includes(domain) ? domain : names[0];
  return (
    <div class="stack">
      <PageHeading title={text.dns.title} />
      <section class="panel" aria-labelledby="dns-records">
        <h2 id="dns-records">{text.dns.records}</h2>
        {names.length === 0 && <p class="muted">{text.dns.noDomains}</p>}
        {names.length > 1 && chosen && (
          <Select label={text.dns.domain} value={chosen} onValue={(name) => navigate(`/admin/dns?domain=${encodeURIComponent(name)}`, { replace: true })} options={names.map((name) => ({ value: name, label: name }))} />
        )}
        {chosen && <DnsRecords domain={chosen} />}
      </section>
      <section class="panel" aria-labelledby="doctor-heading">
        <h2 id="doctor-heading">{text.doctor.title}</h2>
        <DoctorPanel />
      </section>
    </div>
  );
}

// --- system ----------------------------------------------------------------------------------------

interface DiskInfo {
  mount?: string;
  usedPercent?: number;
  availableBytes?: number;
  sizeBytes?: number;
  readOnly?: boolean;
  [key: string]: unknown;
}

interface SystemInfo {
  status: string | null;
  version: string | null;
  hostname: string | null;
  uptime: { boxSeconds: number; servicesSeconds: number | null };
  memory: { totalBytes: number; availableBytes: number; servicesRssBytes: number | null };
  temperatureC: number | null;
  disk: { data: DiskInfo | null; disks: DiskInfo[]; smart: Record<string, unknown>[] | null; storage: Record<string, unknown> | null };
  services: { name: string; state: string; detail?: string }[];
  led: string | null;
  supervisor: { state: string | null; reasons: string[]; stale: boolean; updated: string | null } | null;
}

function SystemPage() {
  const system = useLoad(() => get<SystemInfo>('/api/admin/system'));
  const info = system.value;
  return (
    <div class="stack">
      <PageHeading title={text.system.title}>
        <div class="actions">
          <Button kind="secondary" onClick={() => void system.reload()}>
            {text.system.refresh}
          </Button>
        </div>
      </PageHeading>
      <Notice tone="error">{system.error}</Notice>
      {!info && !system.error && <p class="muted">{text.loading}</p>}
      {info && (
        <>
          <div class="tiles">
            <Tile label={text.system.status} value={info.status ?? text.unknown} tone={info.status === 'ok' ? 'ok' : 'warning'} />
            <Tile label={text.system.uptime} value={formatDuration(info.uptime.boxSeconds)} />
            <Tile label={text.system.temperature} value={info.temperatureC === null ? text.unknown : `${info.temperatureC.toFixed(1)} °C`} tone={info.temperatureC !== null && info.temperatureC > 75 ? 'warning' : undefined} />
            <Tile label={text.system.led} value={info.led ?? text.unknown} />
          </div>
          <section class="panel" aria-labelledby="system-memory">
            <h2 id="system-memory">{text.system.memory}</h2>
            <QuotaMeter used={info.memory.totalBytes - info.memory.availableBytes} limit={info.memory.totalBytes} label={text.system.memory} />
          </section>
          <section class="panel" aria-labelledby="system-disk">
            <h2 id="system-disk">{text.system.disk}</h2>
            {(info.disk.data ? [info.disk.data, ...info.disk.disks.filter((disk) => disk.mount !== info.disk.data?.mount)] : info.disk.disks).map((disk, index) => (
              <DiskRow key={index} disk={disk} />
            ))}
            {!info.disk.data && info.disk.disks.length === 0 && <p class="muted">{text.unknown}</p>}
            {info.disk.storage && (
              <p class="muted">
                {text.system.diskHealth}: {String(info.disk.storage.state ?? info.disk.storage.status ?? JSON.stringify(info.disk.storage))}
              </p>
            )}
          </section>
          <section class="panel" aria-labelledby="system-services">
            <h2 id="system-services">{text.system.services}</h2>
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{text.system.service}</th>
                  <th scope="col">{text.system.state}</th>
                </tr>
              </thead>
              <tbody>
                {info.services.map((service) => (
                  <tr key={service.name}>
                    <td>{service.name}</td>
                    <td>
                      <span class={`badge ${service.state === 'running' ? 'badge-ok' : 'badge-warning'}`}>{service.state}</span>
                      {service.detail && <span class="muted"> {service.detail}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section class="panel" aria-labelledby="system-supervisor">
            <h2 id="system-supervisor">{text.system.supervisor}</h2>
            <dl class="pairs">
              <dt>{text.system.state}</dt>
              <dd>{info.supervisor?.state ?? text.none}</dd>
              {info.supervisor && info.supervisor.reasons.length > 0 && (
                <>
                  <dt>{text.system.status}</dt>
                  <dd>{info.supervisor.reasons.join('; ')}</dd>
                </>
              )}
              <dt>{text.system.version}</dt>
              <dd>{info.version ?? text.unknown}</dd>
            </dl>
          </section>
        </>
      )}
    </div>
  );
}

function Tile({ label, value, tone }: { label: string; value: string; tone?: 'ok' | 'warning' | undefined }) {
  return (
    <div class={`tile${tone ? ` tile-${tone}` : ''}`}>
      <span class="tile-label">{label}</span>
      <span class="tile-value">{value}</span>
    </div>
  );
}

function DiskRow({ disk }: { disk: DiskInfo }) {
  const size = disk.sizeBytes ?? (disk.availableBytes !== undefined && disk.usedPercent !== undefined && disk.usedPercent < 100 ? disk.availableBytes / (1 - disk.usedPercent / 100) : undefined);
  return (
    <div class="disk">
      <p class="name strong">{disk.mount ?? text.unknown}</p>
      {size !== undefined && disk.availableBytes !== undefined ? (
        <QuotaMeter used={size - disk.availableBytes} limit={size} label={text.system.free(formatBytes(disk.availableBytes))} />
      ) : (
        <p class="muted">{disk.usedPercent !== undefined ? `${disk.usedPercent}%` : text.unknown}</p>
      )}
    </div>
  );
}
