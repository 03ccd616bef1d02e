// The app: asks the box what state it is in (GET /api/setup) and who is
// signed in (GET /api/session), then shows the wizard, the sign-in page, the
// admin pages or the self-service page. The server checks every right again
// on every call; this only picks the screen.

import { render, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, get, messageOf, send, setCsrfToken, whenSignedOut, type SessionInfo, type SetupInfo } from './api.ts';
import { Button, Notice } from './components.tsx';
import { navigate, usePath } from './router.ts';
import { AdminNav, AdminPageView, adminPages, type AdminPage } from './screens/admin.tsx';
import { Login } from './screens/login.tsx';
import { Me } from './screens/me.tsx';
import { Wizard } from './screens/wizard.tsx';
import { text } from './text.ts';
import './styles.css';

async function loadSession(): Promise<SessionInfo | null> {
  try {
    const session = await get<SessionInfo>('/api/session');
    setCsrfToken(session.csrfToken);
    return session;
  } catch (error) {
    if (error instanceof ApiFailure && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}

function App() {
  const { path, search } = usePath();
  const [setup, setSetup] = useState<SetupInfo>();
  const [session, setSession] = useState<SessionInfo | null>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const refresh = async (): Promise<SetupInfo> => {
    const [nextSetup, nextSession] = await Promise.all([get<SetupInfo>('/api/setup'), loadSession()]);
    setSetup(nextSetup);
    setSession(nextSession);
    setError(undefined);
    return nextSetup;
  };

  useEffect(() => {
    refresh().catch((failure) => setError(messageOf(failure)));
    whenSignedOut(() => {
      setSession(null);
      setNotice(text.errors.signedOut);
    });
  }, []);

  // Each screen lives at its own path; send the browser to the one that fits the state.
  const wanted = setup && session !== undefined ? screenFor(path, setup, session) : undefined;
  useEffect(() => {
    if (wanted && wanted !== path) navigate(wanted, { replace: true });
  }, [wanted, path]);

  // A new page: its heading takes the focus, so a screen reader announces it.
  useEffect(() => {
    document.getElementById('page-heading')?.focus();
    const name = path.startsWith('/admin/') ? text.nav[path.slice(7) as AdminPage] : undefined;
    document.title = name ? `${name} · ${text.appName}` : text.appName;
  }, [path, session]);

  if (error) {
    return (
      <Shell>
        <main id="main" class="narrow">
          <Notice tone="error">{error}</Notice>
          <Button onClick={() => location.reload()}>{text.next}</Button>
        </main>
      </Shell>
    );
  }
  if (!setup || session === undefined) {
    return (
      <Shell>
        <main id="main" class="narrow">
          <p class="muted">{text.loading}</p>
        </main>
      </Shell>
    );
  }

  const signOut = async () => {
    await send('DELETE', '/api/session').catch(() => undefined);
    setCsrfToken('');
    setSession(null);
    setNotice(undefined);
  };

  if (setup.state !== 'complete') {
    return (
      <Shell hostname={setup.hostname}>
        <Wizard
          setup={setup}
          signedIn={session?.user.role === 'admin'}
          onSetupChanged={refresh}
          onComplete={() => {
            void refresh().then(() => navigate('/admin/mailboxes'));
          }}
        />
      </Shell>
    );
  }

  if (!session) {
    return (
      <Shell hostname={setup.hostname}>
        <Login
          notice={notice}
          onSignedIn={(signedIn) => {
            setNotice(undefined);
            setSession(signedIn);
            navigate(signedIn.user.role === 'admin' ? '/admin/mailboxes' : '/me');
          }}
        />
      </Shell>
    );
  }

  if (session.user.role === 'admin') {
    const page = (adminPages as readonly string[]).includes(path.slice(7)) ? (path.slice(7) as AdminPage) : 'mailboxes';
    return (
      <Shell hostname={setup.hostname} user={session.user.name} onSignOut={signOut} nav={<AdminNav current={page} />}>
        <main id="main" class="content">
          <AdminPageView key={page} page={page} search={search} />
        </main>
      </Shell>
    );
  }

  return (
    <Shell hostname={setup.hostname} user={session.user.name} onSignOut={signOut}>
      <main id="main" class="content">
        <Me />
      </main>
    </Shell>
  );
}

/** The path for the state: the wizard at /setup, sign-in at /login, the rest by role. */
function screenFor(path: string, setup: SetupInfo, session: SessionInfo | null): string {
  if (setup.state !== 'complete') return '/setup';
  if (!session) return '/login';
  if (session.user.role === 'admin') return path.startsWith('/admin/') && (adminPages as readonly string[]).includes(path.slice(7)) ? path : '/admin/mailboxes';
  return '/me';
}

function Shell({ children, hostname, user, onSignOut, nav }: { children: ComponentChildren; hostname?: string; user?: string; onSignOut?: () => void; nav?: ComponentChildren }) {
  return (
    <>
      <a class="skip-link" href="#main">
        {text.skipToContent}
      </a>
      <header class="top no-print">
        <div class="top-inner">
          <div class="brand">
            <span class="brand-mark" aria-hidden="true" />
            <span class="brand-text">
              <span class="brand-name">{text.appName}</span>
              {hostname && <span class="brand-host name">{hostname}</span>}
            </span>
          </div>
          {user && onSignOut && (
            <div class="top-user">
              <span class="name muted top-user-name">{user}</span>
              <button type="button" class="button button-quiet button-small" onClick={onSignOut}>
                {text.signOut}
              </button>
            </div>
          )}
        </div>
        {nav}
      </header>
      {children}
    </>
  );
}

render(<App />, document.getElementById('app')!);
