// The pieces every screen uses: labelled fields, buttons that show they are
// busy, announcements a screen reader hears, copy buttons, paged lists, the
// mailbox card with its QR code.

import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import { ApiFailure, get, messageOf, type ClientSettings, type Page } from './api.ts';
import { formatBytes } from './format.ts';
import { followLink } from './router.ts';
import { text } from './text.ts';

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'value' | 'onInput' | 'label'>;

export interface FieldProps extends InputProps {
  label: string;
  value: string;
  onValue: (value: string) => void;
  help?: string;
  error?: string | undefined;
  multiline?: boolean;
}

/** A labelled input with its help text and its error tied to it for screen readers. */
export function Field({ label, value, onValue, help, error, multiline, id: givenId, ...rest }: FieldProps) {
  const autoId = useId();
  const id = (givenId as string | undefined) ?? `f${autoId}`;
  const described = [help && `${id}-help`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    'aria-describedby': described,
    'aria-invalid': error ? true : undefined,
    class: `input${error ? ' input-invalid' : ''}`,
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {multiline ? (
        <textarea {...common} value={value} rows={3} onInput={(event) => onValue(event.currentTarget.value)} {...(rest as JSX.TextareaHTMLAttributes<HTMLTextAreaElement>)} />
      ) : (
        <input {...common} value={value} onInput={(event) => onValue(event.currentTarget.value)} {...rest} />
      )}
      {help && (
        <p class="help" id={`${id}-help`}>
          {help}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** A password field with a show/hide toggle (typing on a phone is hard to check). */
export function PasswordField(props: FieldProps & { autoComplete?: string }) {
  const [visible, setVisible] = useState(false);
  return (
    <div class="password-field">
      <Field {...props} type={visible ? 'text' : 'password'} spellcheck={false} autoCapitalize="none" />
      <button type="button" class="button-quiet toggle-password" aria-pressed={visible} onClick={() => setVisible(!visible)}>
        {visible ? text.password.hide : text.password.show}
      </button>
    </div>
  );
}

export function Checkbox({ label, checked, onChange }: { label: string; checked: boolean; onChange: (checked: boolean) => void }) {
  const id = `c${useId()}`;
  return (
    <div class="checkbox">
      <input type="checkbox" id={id} checked={checked} onChange={(event) => onChange(event.currentTarget.checked)} />
      <label for={id}>{label}</label>
    </div>
  );
}

export function Select({ label, value, onValue, options, help }: { label: string; value: string; onValue: (value: string) => void; options: { value: string; label: string }[]; help?: string }) {
  const id = `s${useId()}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} class="input" value={value} onChange={(event) => onValue(event.currentTarget.value)} aria-describedby={help ? `${id}-help` : undefined}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {help && (
        <p class="help" id={`${id}-help`}>
          {help}
        </p>
      )}
    </div>
  );
}

export type Tone = 'info' | 'success' | 'error' | 'warning';

/** An announcement: errors interrupt (role alert), the rest is read when the reader is idle (role status). */
export function Notice({ tone = 'info', children }: { tone?: Tone; children: ComponentChildren }) {
  if (children === undefined || children === null || children === '' || children === false) return null;
  return (
    <div class={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/**
 * Runs an API call for a form or button: keeps `busy` while it runs (the
 * button says so and cannot be pressed twice), and the error message and the
 * field it names, for the form to show beside that field (one of `fields`,
 * the names of the form's inputs in the API; any other error shows once for
 * the whole form).
 */
export function useAction(fields: readonly string[] = []) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; field?: string | undefined } | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const run = useCallback(async (action: () => Promise<string | void>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const message = await action();
      if (message) setDone(message);
      return true;
    } catch (failure) {
      setError({ message: messageOf(failure), field: failure instanceof ApiFailure ? failure.field : undefined });
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const fieldError = (field: string) => (error?.field === field ? error.message : undefined);
  /** The error when none of the form's own `fields` shows it. */
  const formError = error && !(error.field && fields.includes(error.field)) ? error.message : undefined;
  return { busy, error, done, run, fieldError, formError, setError, setDone };
}

export function Button({ busy, children, kind = 'primary', ...rest }: JSX.ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; kind?: 'primary' | 'secondary' | 'danger' | 'quiet' }) {
  return (
    <button type="button" class={`button button-${kind}`} disabled={busy || (rest.disabled as boolean | undefined)} aria-busy={busy ? true : undefined} {...rest}>
      {children}
      {busy && <span class="spinner" aria-hidden="true" />}
    </button>
  );
}

export function Form({ onSubmit, children, label }: { onSubmit: () => void; children: ComponentChildren; label?: string }) {
  return (
    <form
      class="form"
      aria-label={label}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}

export function Link({ href, children, class: className }: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={href} class={className} onClick={(event) => followLink(event, href)}>
      {children}
    </a>
  );
}

/**
 * Copies to the clipboard. Where the browser refuses (no permission, an old
 * browser), the text is selected in a read-only box so that Ctrl+C works.
 */
export function CopyButton({ value, what }: { value: string; what: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'fallback'>('idle');
  const fallback = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (state === 'fallback') {
      fallback.current?.focus();
      fallback.current?.select();
    }
  }, [state]);
  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(value);
      setState('copied');
      setTimeout(() => setState((now) => (now === 'copied' ? 'idle' : now)), 2500);
    } catch {
      setState('fallback');
    }
  };
  const id = `copy${useId()}`;
  return (
    <span class="copy">
      <button type="button" class="button button-quiet button-small" aria-label={text.copy.label(what)} onClick={copy}>
        {state === 'copied' ? text.copy.done : text.copy.button}
      </button>
      {state === 'copied' && (
        <span class="visually-hidden" role="status">
          {text.copy.done}
        </span>
      )}
      {state === 'fallback' && (
        <span class="copy-fallback">
          <label for={id}>{text.copy.fallback}</label>
          <textarea id={id} ref={fallback} class="input mono" readOnly value={value} rows={Math.min(6, Math.ceil(value.length / 40))} onBlur={() => setState('idle')} />
        </span>
      )}
    </span>
  );
}

/** Used bytes against the limit, as a meter and in words. */
export function QuotaMeter({ used, limit, label }: { used: number; limit: number; label: string }) {
  const words = limit > 0 ? text.bytes.ofLimit(formatBytes(used), formatBytes(limit)) : text.bytes.noLimit(formatBytes(used));
  const id = `q${useId()}`;
  return (
    <div class="quota">
      <span id={id} class="quota-label">
        {label}: {words}
      </span>
      {limit > 0 && <meter aria-labelledby={id} min={0} max={limit} low={limit * 0.8} high={limit * 0.95} optimum={0} value={Math.min(used, limit)} />}
    </div>
  );
}

// --- paged, searchable lists -------------------------------------------------

export interface PagedList<T> {
  page: Page<T> | undefined;
  error: string | undefined;
  loading: boolean;
  query: string;
  search: (query: string) => void;
  setOffset: (offset: number) => void;
  reload: () => Promise<void>;
}

/** A list route (`?query=&offset=&limit=` → `{items, total, offset, limit}`), one page at a time. */
export function usePagedList<T>(url: string, limit = 20): PagedList<T> {
  const [page, setPage] = useState<Page<T>>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [query, setQuery] = useState('');
  const [offset, setOffset] = useState(0);
  const generation = useRef(0);
  const load = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const params = new URLSearchParams({ query, offset: String(offset), limit: String(limit) });
      const answer = await get<Page<T>>(`${url}?${params}`);
      if (mine !== generation.current) return;
      // A delete can leave the last page empty: step back to one that has items.
      if (answer.items.length === 0 && offset > 0 && answer.total > 0) {
        setOffset(Math.max(0, Math.floor((answer.total - 1) / limit) * limit));
        return;
      }
      setPage(answer);
      setError(undefined);
    } catch (failure) {
      if (mine === generation.current) setError(messageOf(failure));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [url, query, offset, limit]);
  useEffect(() => {
    void load();
  }, [load]);
  return {
    page,
    error,
    loading,
    query,
    search: (next) => {
      setQuery(next);
      setOffset(0);
    },
    setOffset,
    reload: load,
  };
}

export function SearchBox({ what, onSearch }: { what: string; onSearch: (query: string) => void }) {
  const [value, setValue] = useState('');
  const id = `search${useId()}`;
  // Searching as one types, but not on every key: the list is asked again after a pause.
  useEffect(() => {
    const timer = setTimeout(() => onSearch(value.trim()), 300);
    return () => clearTimeout(timer);
  }, [value]);
  return (
    <form
      class="search"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        onSearch(value.trim());
      }}
    >
      <label for={id} class="visually-hidden">
        {text.pager.search(what)}
      </label>
      <input id={id} type="search" class="input" placeholder={text.pager.search(what)} value={value} onInput={(event) => setValue(event.currentTarget.value)} />
      <button type="submit" class="button button-secondary">
        {text.pager.searchButton}
      </button>
    </form>
  );
}

export function Pager<T>({ list }: { list: PagedList<T> }) {
  const page = list.page;
  if (!page) return null;
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = Math.min(page.offset + page.items.length, page.total);
  if (page.total <= page.limit && page.offset === 0) return <p class="pager-range">{text.pager.range(first, last, page.total)}</p>;
  return (
    <nav class="pager" aria-label={text.pager.range(first, last, page.total)}>
      <button type="button" class="button button-secondary" disabled={page.offset === 0} onClick={() => list.setOffset(Math.max(0, page.offset - page.limit))}>
        {text.pager.previous}
      </button>
      <span class="pager-range">{text.pager.range(first, last, page.total)}</span>
      <button type="button" class="button button-secondary" disabled={last >= page.total} onClick={() => list.setOffset(page.offset + page.limit)}>
        {text.pager.next}
      </button>
    </nav>
  );
}

/** The list's state in words when it has no rows to show. */
export function ListStatus<T>({ list, empty }: { list: PagedList<T>; empty?: string }) {
  if (list.error) return <Notice tone="error">{list.error}</Notice>;
  if (!list.page) return <p class="muted">{text.loading}</p>;
  if (list.page.total === 0) return <p class="muted">{list.query ? text.pager.noMatch(list.query) : (empty ?? text.pager.empty)}</p>;
  return null;
}

/**
 * A delete (or other change that cannot be undone) asks once more, in place:
 * the first press shows the question and a second, red button.
 */
export function ConfirmButton({ label, question, onConfirm, busy, confirmLabel, shown }: { label: string; question: string; onConfirm: () => void; busy?: boolean; confirmLabel?: string; /** short visible text; `label` is then the accessible name */ shown?: string }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <Button kind="secondary" aria-label={shown ? label : undefined} onClick={() => setAsking(true)}>
        {shown ?? label}
      </Button>
    );
  }
  return (
    <div class="confirm" role="group" aria-label={question}>
      <p>{question}</p>
      <div class="actions">
        <Button kind="danger" busy={busy} onClick={onConfirm}>
          {confirmLabel ?? label}
        </Button>
        <Button kind="secondary" onClick={() => setAsking(false)}>
          {text.cancel}
        </Button>
      </div>
    </div>
  );
}

// --- the mailbox card ----------------------------------------------------------

/** What a phone needs to set the account up (never the password): plain text, so any QR reader shows it. */
export function qrText(client: ClientSettings): string {
  const line = (name: string, endpoint: ClientSettings['imap'] | undefined) => (endpoint ? [`${name}: ${endpoint.host}:${endpoint.port} ${endpoint.security.toUpperCase()}`] : []);
  return ['Mailnest mail account', `Address: ${client.address}`, `User name: ${client.username}`, ...line('IMAP', client.imap), ...line('SMTP', client.smtp), ...line('POP3', client.pop3)].join('\n');
}

export function QrCode({ value, label }: { value: string; label: string }) {
  const [src, setSrc] = useState<string>();
  useEffect(() => {
    let live = true;
    QRCode.toDataURL(value, { errorCorrectionLevel: 'M', margin: 2, width: 320 }).then((url) => live && setSrc(url), () => live && setSrc(undefined));
    return () => {
      live = false;
    };
  }, [value]);
  return src ? <img class="qr" src={src} alt={label} width={160} height={160} /> : <div class="qr qr-empty" aria-hidden="true" />;
}

function EndpointRows({ title, endpoint }: { title: string; endpoint: ClientSettings['imap'] | undefined }) {
  if (!endpoint) return null;
  return (
    <div class="endpoint">
      <h4>{title}</h4>
      <dl class="pairs">
        <dt>{text.card.server}</dt>
        <dd class="name">{endpoint.host}</dd>
        <dt>{text.card.port}</dt>
        <dd>{endpoint.port}</dd>
        <dt>{text.card.security}</dt>
        <dd>{text.card.securities[endpoint.security] ?? endpoint.security}</dd>
      </dl>
    </div>
  );
}

/** The printable card: address, settings, the QR code, and the password when this is the one time it is known. */
export function MailboxCard({ client, password, displayName }: { client: ClientSettings; password?: string | undefined; displayName?: string }) {
  const headingId = `card${useId()}`;
  return (
    <article class="card mailbox-card print-card" aria-labelledby={headingId}>
      <header class="card-header">
        <h3 id={headingId} class="name">
          {text.card.title(client.address)}
        </h3>
        {displayName && <p class="muted">{displayName}</p>}
      </header>
      <div class="card-body">
        <div class="card-settings">
          <dl class="pairs">
            <dt>{text.card.address}</dt>
            <dd class="name">{client.address}</dd>
            <dt>{text.card.username}</dt>
            <dd class="name">{client.username}</dd>
            {password && (
              <>
                <dt>{text.card.password}</dt>
                <dd>
                  <code class="secret">{password}</code> <CopyButton value={password} what={text.card.password} />
                </dd>
              </>
            )}
          </dl>
          {password && <p class="notice notice-warning">{text.card.passwordOnce}</p>}
          <div class="endpoints">
            <EndpointRows title={text.card.incoming} endpoint={client.imap} />
            <EndpointRows title={text.card.outgoing} endpoint={client.smtp} />
            <EndpointRows title={text.card.pop3} endpoint={client.pop3} />
          </div>
        </div>
        <figure class="card-qr">
          <QrCode value={qrText(client)} label={text.card.qr(client.address)} />
          <figcaption class="help">{text.card.qrHelp}</figcaption>
        </figure>
      </div>
      <div class="actions no-print">
        <Button kind="secondary" onClick={() => printCard(headingId)}>
          {text.card.print}
        </Button>
      </div>
    </article>
  );
}

/** Prints only this card: the print style sheet hides the page and every other card. */
function printCard(headingId: string): void {
  const card = document.getElementById(headingId)?.closest('.print-card');
  document.body.classList.add('printing-card');
  card?.classList.add('printing');
  const done = () => {
    document.body.classList.remove('printing-card');
    card?.classList.remove('printing');
    window.removeEventListener('afterprint', done);
  };
  window.addEventListener('afterprint', done);
  window.print();
}

/** Loads once, shows loading and errors. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { value: T | undefined; error: string | undefined; reload: () => Promise<void>; setValue: (value: T) => void } {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<string>();
  const reload = useCallback(async () => {
    try {
      setValue(await load());
      setError(undefined);
    } catch (failure) {
      setError(messageOf(failure));
    }
  }, deps);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { value, error, reload, setValue };
}
