/** The login page, shown when the server's basic-auth app answers 401. */
import { useState } from 'preact/hooks';
import { ApiError, api, session } from '../api.js';
import { ErrorNote } from '../components/error-note.js';
import { currentRoute, navigate } from '../router.js';

export function LoginPage() {
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      class="login"
      aria-label="log in"
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget as HTMLFormElement);
        session.logIn(String(form.get('username')), String(form.get('password')));
        try {
          await api.searchExperiments({ max_results: 1 });
          navigate(currentRoute().query.get('next') || '#/experiments');
          location.reload();
        } catch (e) {
          session.logOut();
          setError(e instanceof ApiError && e.status === 401 ? new Error('Wrong username or password.') : e);
        }
      }}
    >
      <h1>Log in</h1>
      <label>
        Username <input name="username" autoComplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit">Log in</button>
      <ErrorNote error={error} />
    </form>
  );
}
