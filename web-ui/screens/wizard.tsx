// The first-boot wizard, shown until GET /api/setup says complete. Claiming
// needs physical presence (the box's button, or the setup code from its
// console); every later step runs in the session the claim made.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, get, messageOf, request, send, setCsrfToken, type Mailbox, type Page, type RelaySettings, type SetupInfo } from '../api.ts';
import { Button, Field, Form, Notice, PasswordField, useAction, useLoad } from '../components.tsx';
import { formatTime } from '../format.ts';
import { DnsRecords, DoctorPanel, loadRelay, MadeCards, NewMailboxForm, RelayForm, type MadeMailbox } from '../panels.tsx';
import { text } from '../text.ts';

const steps = ['claim', 'certificate', 'password', 'identity', 'mailboxes', 'outbound', 'dns', 'doctor', 'finish'] as const;
type Step = (typeof steps)[number];

/** Where a returning owner (the page reloaded) picks up: the first step not done. */
function resumeStep(setup: SetupInfo, signedIn: boolean): Step {
  if (!signedIn || setup.state === 'unclaimed') return 'claim';
  const done = setup.steps;
  if (!done) return 'certificate';
  if (!done.adminPassword) return 'certificate';
  if (!done.domain) return 'identity';
  if (!done.mailbox) return 'mailboxes';
  return 'outbound';
}

export function Wizard({ setup, signedIn, onSetupChanged, onComplete }: { setup: SetupInfo; signedIn: boolean; onSetupChanged: () => Promise<SetupInfo>; onComplete: () => void }) {
  const [step, setStep] = useState<Step>(() => resumeStep(setup, signedIn));
  const [domain, setDomain] = useState<string>();
  const heading = useRef<HTMLHeadingElement>(null);
  const index = steps.indexOf(step);
  const go = (next: Step) => {
    setStep(next);
    window.scrollTo(0, 0);
  };
  const forward = () => go(steps[Math.min(index + 1, steps.length - 1)]!);
  const backward = () => go(steps[Math.max(index - 1, 1)]!);
  // Each step's heading gets the focus, so that a screen reader starts there.
  useEffect(() => {
    heading.current?.focus();
  }, [step]);
  return (
    <main id="main" class="wizard">
      <p class="wizard-kicker">{text.wizard.title}</p>
      <ol class="steps" aria-label={text.wizard.stepOf(index + 1, steps.length)}>
        {steps.map((name, position) => (
          <li key={name} class={position < index ? 'step-done' : position === index ? 'step-current' : undefined} aria-current={position === index ? 'step' : undefined}>
            <span class="step-number" aria-hidden="true">
              {position + 1}
            </span>
            <span class="step-name">{text.wizard.steps[name]}</span>
          </li>
        ))}
      </ol>
      <section class="panel" aria-labelledby="step-heading">
        <p class="muted step-of">{text.wizard.stepOf(index + 1, steps.length)}</p>
        <h1 id="step-heading" tabIndex={-1} ref={heading}>
          {text.wizard.steps[step]}
        </h1>
        {step === 'claim' && <ClaimStep setup={setup} onClaimed={async () => { await onSetupChanged(); go('certificate'); }} />}
        {step === 'certificate' && <CertificateStep setup={setup} onNext={forward} />}
        {step === 'password' && <PasswordStep done={setup.steps?.adminPassword ?? false} onNext={async () => { await onSetupChanged(); forward(); }} />}
        {step === 'identity' && <IdentityStep setup={setup} onNext={async (name) => { setDomain(name); await onSetupChanged(); forward(); }} />}
        {step === 'mailboxes' && <MailboxesStep domain={domain} onNext={async () => { await onSetupChanged(); forward(); }} />}
        {step === 'outbound' && <OutboundStep onNext={forward} />}
        {step === 'dns' && <DnsStep domain={domain} onNext={forward} />}
        {step === 'doctor' && <DoctorStep onNext={forward} />}
        {step === 'finish' && <FinishStep setup={setup} onComplete={onComplete} />}
        {index > 1 && (
          <div class="actions actions-back">
            <Button kind="quiet" onClick={backward}>
              {text.back}
            </Button>
          </div>
        )}
      </section>
    </main>
  );
}

// --- claim ---------------------------------------------------------------------

function ClaimStep({ setup, onClaimed }: { setup: SetupInfo; onClaimed: () => Promise<void> }) {
  const [code, setCode] = useState('');
  const [waitingUntil, setWaitingUntil] = useState<string | undefined>();
  const [buttonNote, setButtonNote] = useState<string>();
  const byCode = useAction(['code']);
  const byButton = useAction();
  const poll = useRef<ReturnType<typeof setTimeout>>();
  const stopped = useRef(false);
  useEffect(() => () => {
    stopped.current = true;
    clearTimeout(poll.current);
  }, []);

  const claimed = async (csrfToken: string) => {
    setCsrfToken(csrfToken);
    await onClaimed();
  };

  const submitCode = () =>
    byCode.run(async () => {
      const answer = await send<{ claimed: true; csrfToken: string }>('POST', '/api/setup/claim', { code: code.trim().toUpperCase() });
      await claimed(answer.csrfToken);
    });

  // The press happens at the box; this page asks once a second whether it came, until the server says the wait expired.
  const ask = async () => {
    if (stopped.current) return;
    try {
      const answer = await request<{ waiting?: boolean; expiresAt?: string; claimed?: boolean; csrfToken?: string }>('GET', '/api/setup/claim');
      if (stopped.current) return;
      if (answer.status === 200 && answer.body.csrfToken) {
        setWaitingUntil(undefined);
        await claimed(answer.body.csrfToken);
        return;
      }
      poll.current = setTimeout(() => void ask(), 1000);
    } catch (failure) {
      setWaitingUntil(undefined);
      byButton.setError({ message: failure instanceof ApiFailure && failure.status === 410 ? text.wizard.claim.buttonExpired : messageOf(failure) });
    }
  };

  const startWaiting = () =>
    byButton.run(async () => {
      stopped.current = false;
      setButtonNote(undefined);
      const answer = await send<{ waiting: true; expiresAt: string }>('POST', '/api/setup/claim', { method: 'button' });
      setWaitingUntil(answer.expiresAt);
      poll.current = setTimeout(() => void ask(), 1000);
    });

  const stopWaiting = () => {
    stopped.current = true;
    clearTimeout(poll.current);
    setWaitingUntil(undefined);
    setButtonNote(undefined);
  };

  return (
    <div class="stack">
      <p>{text.wizard.claim.intro}</p>
      <div class="choices">
        {setup.claim.button && (
          <section class="card choice" aria-labelledby="claim-button">
            <h2 id="claim-button">{text.wizard.claim.buttonTitle}</h2>
            {waitingUntil ? (
              <div class="waiting" role="status">
                <span class="pulse" aria-hidden="true" />
                <div>
                  <p class="strong">{text.wizard.claim.buttonWaiting}</p>
                  <p class="muted">{text.wizard.claim.buttonWaitingUntil(formatTime(waitingUntil))}</p>
                </div>
              </div>
            ) : (
              <p class="muted">{text.wizard.claim.buttonHelp}</p>
            )}
            <Notice tone="error">{byButton.formError}</Notice>
            <Notice>{buttonNote}</Notice>
            <div class="actions">
              {waitingUntil ? (
                <Button kind="secondary" onClick={stopWaiting}>
                  {text.wizard.claim.buttonCancel}
                </Button>
              ) : (
                <Button busy={byButton.busy} onClick={startWaiting}>
                  {text.wizard.claim.buttonStart}
                </Button>
              )}
            </div>
          </section>
        )}
        <section class="card choice" aria-labelledby="claim-code">
          <h2 id="claim-code">{text.wizard.claim.codeTitle}</h2>
          <Form onSubmit={submitCode} label={text.wizard.claim.codeTitle}>
            <Field
              label={text.wizard.claim.codeLabel}
              value={code}
              onValue={setCode}
              help={text.wizard.claim.codeHelp}
              error={byCode.fieldError('code')}
              autoComplete="one-time-code"
              autoCapitalize="characters"
              spellcheck={false}
              class="input mono code-input"
              maxLength={64}
            />
            <Notice tone="error">{byCode.formError}</Notice>
            <div class="actions">
              <Button type="submit" busy={byCode.busy}>
                {text.wizard.claim.codeSubmit}
              </Button>
            </div>
          </Form>
        </section>
      </div>
    </div>
  );
}

// --- certificate -----------------------------------------------------------------

function CertificateStep({ setup, onNext }: { setup: SetupInfo; onNext: () => void }) {
  const [differs, setDiffers] = useState(false);
  const { sha256, names, validTo } = setup.certificate;
  // Groups of four bytes, so the eye can compare them with the console piece by piece.
  const groups = sha256.split(':').reduce<string[]>((all, byte, index) => {
    if (index % 4 === 0) all.push(byte);
    else all[all.length - 1] += `:${byte}`;
    return all;
  }, []);
  return (
    <div class="stack">
      <p>{text.wizard.certificate.intro}</p>
      <dl class="pairs pairs-wide">
        <dt>{text.wizard.certificate.fingerprint}</dt>
        <dd>
          <code class="fingerprint mono" data-fingerprint={sha256}>
            {groups.map((group, index) => (
              <span key={index} class="fingerprint-group">
                {group}
                {index < groups.length - 1 ? ':' : ''}
              </span>
            ))}
          </code>
        </dd>
        <dt>{text.wizard.certificate.names}</dt>
        <dd class="name">{names.join(', ')}</dd>
        <dt>{text.wizard.certificate.validTo}</dt>
        <dd>{formatTime(validTo)}</dd>
      </dl>
      {differs && <Notice tone="error">{text.wizard.certificate.differsHelp}</Notice>}
      <div class="actions">
        <Button onClick={onNext}>{text.wizard.certificate.matches}</Button>
        <Button kind="secondary" onClick={() => setDiffers(true)}>
          {text.wizard.certificate.differs}
        </Button>
      </div>
    </div>
  );
}

// --- admin password ------------------------------------------------------------------

function PasswordStep({ done, onNext }: { done: boolean; onNext: () => void }) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const action = useAction(['password']);
  const submit = () => {
    if (password !== repeat) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    void action.run(async () => {
      await send('POST', '/api/setup/admin-password', { password });
      onNext();
    });
  };
  return (
    <Form onSubmit={submit} label={text.wizard.steps.password}>
      <p>{text.wizard.password.intro}</p>
      {done && <Notice tone="success">{text.wizard.password.done}</Notice>}
      <PasswordField label={text.wizard.password.label} value={password} onValue={setPassword} autoComplete="new-password" error={action.fieldError('password')} />
      <PasswordField label={text.wizard.password.repeat} value={repeat} onValue={setRepeat} autoComplete="new-password" error={mismatch ? text.errors.passwordsDiffer : undefined} />
      <Notice tone="error">{action.formError}</Notice>
      <div class="actions">
        <Button type="submit" busy={action.busy}>
          {text.wizard.password.submit}
        </Button>
        {done && (
          <Button kind="secondary" onClick={onNext}>
            {text.next}
          </Button>
        )}
      </div>
    </Form>
  );
}

// --- name and domain ---------------------------------------------------------------

function IdentityStep({ setup, onNext }: { setup: SetupInfo; onNext: (domain: string) => void }) {
  const [hostname, setHostname] = useState(setup.hostname);
  const [domain, setDomain] = useState(() => setup.hostname.split('.').slice(1).join('.'));
  const action = useAction(['hostname', 'domain']);
  const submit = () =>
    action.run(async () => {
      const answer = await send<{ hostname: string; domain: string }>('PUT', '/api/setup/identity', { hostname: hostname.trim(), domain: domain.trim() });
      onNext(answer.domain ?? domain.trim());
    });
  return (
    <Form onSubmit={submit} label={text.wizard.steps.identity}>
      <p>{text.wizard.identity.intro}</p>
      <Field label={text.wizard.identity.hostname} value={hostname} onValue={setHostname} help={text.wizard.identity.hostnameHelp} error={action.fieldError('hostname')} autoCapitalize="none" spellcheck={false} required />
      <Field label={text.wizard.identity.domain} value={domain} onValue={setDomain} help={text.wizard.identity.domainHelp} error={action.fieldError('domain')} autoCapitalize="none" spellcheck={false} required />
      <Notice tone="error">{action.formError}</Notice>
      <div class="actions">
        <Button type="submit" busy={action.busy}>
          {text.wizard.identity.submit}
        </Button>
      </div>
    </Form>
  );
}

// --- first mailboxes -----------------------------------------------------------------

function MailboxesStep({ domain, onNext }: { domain: string | undefined; onNext: () => void }) {
  const domains = useLoad(async () => (await get<Page<{ name: string }>>('/api/admin/domains?limit=200')).items.map((one) => one.name));
  const existing = useLoad(() => get<Page<Mailbox>>('/api/admin/mailboxes?limit=50'));
  const [made, setMade] = useState<MadeMailbox[]>([]);
  const names = domains.value ? [...new Set([...(domain ? [domain] : []), ...domains.value])] : domain ? [domain] : [];
  const count = (existing.value?.total ?? 0) + made.length;
  const madeAddresses = new Set(made.map((one) => one.mailbox.address));
  const earlier = (existing.value?.items ?? []).filter((one) => !madeAddresses.has(one.address));
  return (
    <div class="stack">
      <p>{text.wizard.mailboxes.intro}</p>
      <Notice tone="error">{domains.error ?? existing.error}</Notice>
      {names.length > 0 && <NewMailboxForm domains={names} withQuota={false} onMade={(one) => setMade((all) => [...all, one])} />}
      <MadeCards made={made} />
      {earlier.length > 0 && (
        <section aria-labelledby="existing-mailboxes">
          <h2 id="existing-mailboxes">{text.wizard.mailboxes.existing}</h2>
          <ul class="plain-list">
            {earlier.map((one) => (
              <li key={one.address} class="name">
                {one.address}
              </li>
            ))}
          </ul>
        </section>
      )}
      {count === 0 && <p class="muted">{text.wizard.mailboxes.needOne}</p>}
      <div class="actions">
        <Button onClick={onNext} disabled={count === 0}>
          {text.next}
        </Button>
      </div>
    </div>
  );
}

// --- outbound ----------------------------------------------------------------------------

function OutboundStep({ onNext }: { onNext: () => void }) {
  const relay = useLoad(loadRelay);
  const [choice, setChoice] = useState<'direct' | 'relay'>();
  const direct = useAction();
  const current = relay.value;
  const shown = choice ?? (current ? 'relay' : 'direct');
  const sendDirect = () =>
    direct.run(async () => {
      if (current) {
        try {
          await send('DELETE', '/api/admin/relay');
        } catch (error) {
          if (!(error instanceof ApiFailure && error.status === 404)) throw error;
        }
      }
      relay.setValue(null);
      onNext();
    });
  if (relay.error) return <Notice tone="error">{relay.error}</Notice>;
  if (relay.value === undefined) return <p class="muted">{text.loading}</p>;
  return (
    <div class="stack">
      <p>{text.wizard.outbound.intro}</p>
      <fieldset class="radio-group">
        <legend>{text.wizard.outbound.legend}</legend>
        {(['direct', 'relay'] as const).map((value) => (
          <div class="radio" key={value}>
            <input type="radio" id={`outbound-${value}`} name="outbound" value={value} checked={shown === value} onChange={() => setChoice(value)} />
            <label for={`outbound-${value}`}>{value === 'direct' ? text.wizard.outbound.direct : text.wizard.outbound.relay}</label>
          </div>
        ))}
      </fieldset>
      {shown === 'direct' ? (
        <>
          <Notice tone="error">{direct.formError}</Notice>
          <div class="actions">
            <Button busy={direct.busy} onClick={sendDirect}>
              {text.wizard.outbound.saveDirect}
            </Button>
          </div>
        </>
      ) : (
        <>
          <RelayForm current={current ?? null} onSaved={(saved: RelaySettings | null) => relay.setValue(saved)} />
          {current && (
            <div class="actions">
              <Button onClick={onNext}>{text.next}</Button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

// --- DNS, doctor, finish ------------------------------------------------------------------------

function DnsStep({ domain, onNext }: { domain: string | undefined; onNext: () => void }) {
  const first = useLoad(async () => domain ?? (await get<Page<{ name: string }>>('/api/admin/domains?limit=1')).items[0]?.name, [domain]);
  const name = first.value;
  return (
    <div class="stack">
      <Notice tone="error">{first.error}</Notice>
      {name && <p>{text.wizard.dns.intro(name)}</p>}
      {name && <DnsRecords domain={name} />}
      <div class="actions">
        <Button onClick={onNext}>{text.next}</Button>
      </div>
    </div>
  );
}

function DoctorStep({ onNext }: { onNext: () => void }) {
  return (
    <div class="stack">
      <p>{text.wizard.doctor.intro}</p>
      <DoctorPanel />
      <div class="actions">
        <Button onClick={onNext}>{text.next}</Button>
      </div>
    </div>
  );
}

function FinishStep({ setup, onComplete }: { setup: SetupInfo; onComplete: () => void }) {
  const action = useAction();
  const finish = () =>
    action.run(async () => {
      await send('POST', '/api/setup/complete');
      onComplete();
    });
  return (
    <div class="stack">
      <p>{text.wizard.finish.intro}</p>
      <p class="name muted">{setup.hostname}</p>
      <Notice tone="error">{action.formError}</Notice>
      <div class="actions">
        <Button busy={action.busy} onClick={finish}>
          {text.wizard.finish.submit}
        </Button>
      </div>
    </div>
  );
}
