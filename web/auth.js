// Signing in: GET /api/auth/whoami says whether authentication is on and who the credential is.
// The credential (a JWT from `shopflow token` or an API key) is kept in sessionStorage: it lasts
// as long as the tab and is not shared with other tabs or left behind on disk like localStorage.
// Nothing else is asked of the API before whoami said who is signed in (a 401 is a console error).
import { onUnauthorized, setCredential } from './api.js';
import { applyRole, setRole } from './policy.js';

const STORAGE_KEY = 'shopflow.credential';

// whoami with a given credential (not yet the api.js one: a candidate is checked before it is kept).
async function whoami(credential) {
  const headers = { Accept: 'application/json' };
  if (credential) headers.Authorization = `Bearer ${credential}`;
  try {
    const res = await fetch('/api/auth/whoami', { headers, cache: 'no-store' });
    let body = null;
    try { body = await res.json(); } catch { /* not JSON */ }
    return { status: res.status, body };
  } catch {
    return { status: 0, body: null };
  }
}

export class Session {
  // onSignedIn(who): show the dashboard for who = {sub, role, auth}; onSignedOut(): stop what
  // needs a credential (the live stream).
  constructor({ form, input, error, status, signOut, app, onSignedIn, onSignedOut }) {
    Object.assign(this, { form, input, error, status, signOutButton: signOut, app, onSignedIn, onSignedOut });
    this.who = null;
    form.addEventListener('submit', (e) => { e.preventDefault(); this.signIn(this.input.value.trim()); });
    signOut.addEventListener('click', () => this.signOut());
    onUnauthorized(() => this.ended());
  }

  async start() {
    const stored = sessionStorage.getItem(STORAGE_KEY) || '';
    const r = await whoami(stored);
    if (r.status === 0 || !r.body || typeof r.body !== 'object') {
      this.status.textContent = 'auth: server unreachable, retrying…';
      setTimeout(() => this.start(), 2000);
      return;
    }
    if (r.status === 401) {
      sessionStorage.removeItem(STORAGE_KEY);
      this.showForm(`Sign in again: ${reason(r.body)}`);
    } else if (r.body.auth === 'off' || r.body.authenticated) {
      this.begin(r.body, r.body.auth === 'off' ? '' : stored);
    } else {
      this.showForm('');
    }
  }

  async signIn(candidate) {
    if (!candidate) { this.showForm('Paste a token or an API key.'); return; }
    const r = await whoami(candidate);
    if (!(r.status === 200 && r.body && r.body.authenticated)) {
      this.input.value = '';
      this.showForm(r.status === 0 ? 'The server did not answer: try again.' : `Not signed in: ${reason(r.body)}`);
      return;
    }
    sessionStorage.setItem(STORAGE_KEY, candidate);
    // Someone else after an ended session: start afresh, nothing of the previous one stays shown.
    if (this.who && (this.who.sub !== r.body.sub || this.who.role !== r.body.role)) { location.reload(); return; }
    this.begin(r.body, candidate);
  }

  begin(who, credential) {
    this.who = who;
    setCredential(credential);
    setRole(who.role);
    this.form.hidden = true;
    this.error.textContent = '';
    this.input.value = '';
    this.app.forEach((node) => { node.hidden = false; });
    if (who.auth === 'off') {
      this.status.textContent = 'auth off';
      this.status.title = 'Authentication is off on this loopback server: everyone is admin.';
      this.signOutButton.hidden = true;
    } else {
      this.status.textContent = `signed in as ${who.sub} (${who.role})`;
      this.status.title = '';
      this.signOutButton.hidden = false;
    }
    this.onSignedIn(who);
  }

  // An API answer was 401: the token expired or the key was revoked. Sign in again.
  ended() {
    if (!this.who || this.who.auth === 'off' || !this.form.hidden) return;
    sessionStorage.removeItem(STORAGE_KEY);
    setCredential('');
    this.onSignedOut();
    this.showForm('Your session ended (the token expired or was revoked): sign in again.');
  }

  // The live stream closed before opening: if the credential is refused now, sign in again.
  async check() {
    if (!this.who || this.who.auth === 'off' || !this.form.hidden) return;
    const r = await whoami(sessionStorage.getItem(STORAGE_KEY) || '');
    if (r.status === 401 || (r.status === 200 && r.body && !r.body.authenticated)) this.ended();
  }

  signOut() {
    sessionStorage.removeItem(STORAGE_KEY);
    location.reload();  // nothing of this session stays on the page
  }

  showForm(message) {
    setRole('');
    applyRole();  // the badges that need a role go too
    this.app.forEach((node) => { node.hidden = true; });
    this.status.textContent = 'signed out';
    this.signOutButton.hidden = true;
    this.form.hidden = false;
    this.error.textContent = message;
    this.input.focus();
  }
}

function reason(body) {
  return (body && body.error && body.error.message) || 'the credential was refused';
}
