// Sign-in: "admin" with the admin password, or a mail address with its password.

import { useState } from 'preact/hooks';
import { send, setCsrfToken, type SessionInfo } from '../api.ts';
import { Button, Field, Form, Notice, PasswordField, useAction } from '../components.tsx';
import { text } from '../text.ts';

export function Login({ onSignedIn, notice }: { onSignedIn: (session: SessionInfo) => void; notice?: string | undefined }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction(['username', 'password']);
  const submit = () =>
    action.run(async () => {
      const session = await send<SessionInfo>('POST', '/api/session', { username: username.trim(), password });
      setCsrfToken(session.csrfToken);
      setPassword('');
      onSignedIn(session);
    });
  return (
    <main id="main" class="narrow">
      <section class="panel" aria-labelledby="login-heading">
        <h1 id="login-heading">{text.login.title}</h1>
        <p class="muted">{text.login.intro}</p>
        <Notice tone="warning">{notice}</Notice>
        <Form onSubmit={submit} label={text.login.title}>
          <Field label={text.login.username} value={username} onValue={setUsername} autoComplete="username" autoCapitalize="none" spellcheck={false} required error={action.fieldError('username')} />
          <PasswordField label={text.login.password} value={password} onValue={setPassword} autoComplete="current-password" required error={action.fieldError('password')} />
          <Notice tone="error">{action.formError}</Notice>
          <div class="actions">
            <Button type="submit" busy={action.busy}>
              {text.login.submit}
            </Button>
          </div>
        </Form>
      </section>
    </main>
  );
}
