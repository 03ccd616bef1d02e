// Self-service for a mail user (/me): space used, the settings for mail
// programs, a new password, forwarding.

import { useState } from 'preact/hooks';
import { get, send, type ClientSettings, type Forwarding } from '../api.ts';
import { Button, Form, MailboxCard, Notice, PasswordField, QuotaMeter, useAction, useLoad } from '../components.tsx';
import { ForwardingForm } from '../panels.tsx';
import { text } from '../text.ts';

interface MeAnswer {
  address: string;
  displayName: string;
  quota: { usedBytes: number; limitBytes: number };
  forwarding: Forwarding;
  client: ClientSettings;
}

export function Me() {
  const me = useLoad(() => get<MeAnswer>('/api/me'));
  if (me.error) return <Notice tone="error">{me.error}</Notice>;
  if (!me.value) return <p class="muted">{text.loading}</p>;
  const { address, displayName, quota, client } = me.value;
  return (
    <div class="stack">
      <header class="page-header">
        <h1 id="page-heading" tabIndex={-1}>
          {text.me.title}
        </h1>
        <p class="name muted">{displayName ? `${displayName} <${address}>` : address}</p>
      </header>
      <section class="panel" aria-labelledby="me-quota">
        <h2 id="me-quota">{text.me.quota}</h2>
        <QuotaMeter used={quota.usedBytes} limit={quota.limitBytes} label={text.me.quota} />
      </section>
      <section class="panel" aria-labelledby="me-password">
        <h2 id="me-password">{text.me.passwordTitle}</h2>
        <ChangePassword />
      </section>
      <section class="panel" aria-labelledby="me-forwarding">
        <h2 id="me-forwarding">{text.forwarding.title}</h2>
        <ForwardingForm url="/api/me/forwarding" initial={me.value.forwarding} />
      </section>
      <section class="panel" aria-labelledby="me-settings">
        <h2 id="me-settings">{text.me.settings}</h2>
        <MailboxCard client={client} displayName={displayName} />
      </section>
    </div>
  );
}

function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const action = useAction(['current', 'password']);
  const submit = () => {
    setMismatch(password !== repeat);
    if (password !== repeat) return;
    void action.run(async () => {
      await send('POST', '/api/me/password', { current, password });
      setCurrent('');
      setPassword('');
      setRepeat('');
      return text.me.changed;
    });
  };
  return (
    <Form onSubmit={submit} label={text.me.passwordTitle}>
      <PasswordField label={text.me.current} value={current} onValue={setCurrent} autoComplete="current-password" error={action.fieldError('current')} />
      <PasswordField label={text.me.newPassword} value={password} onValue={setPassword} autoComplete="new-password" error={action.fieldError('password')} />
      <PasswordField label={text.me.repeat} value={repeat} onValue={setRepeat} autoComplete="new-password" error={mismatch ? text.errors.passwordsDiffer : undefined} />
      <Notice tone="error">{action.formError}</Notice>
      <Notice tone="success">{action.done}</Notice>
      <div class="actions">
        <Button type="submit" busy={action.busy}>
          {text.me.submit}
        </Button>
      </div>
    </Form>
  );
}
