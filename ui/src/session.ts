// Who is signed in and what they may do. Without auth on the server every action is shown; with
// basic auth, actions the user's permissions forbid are hidden (the server enforces them anyway).

import { currentUser, type User } from "./api";

const LEVELS: Record<string, number> = { NO_PERMISSIONS: 0, READ: 1, EDIT: 2, MANAGE: 3 };

export const session: { user: User | null; loaded: boolean } = { user: null, loaded: false };

/** Whether the server asks for sign-in: the server writes it into index.html (empty without auth). */
export function serverAuth(): string | null {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="hf-mltrack-auth"]');
  return meta ? meta.content : null; // null: a page not served by hf_mltrack (e.g. a dev server)
}

export async function loadSession(): Promise<void> {
  if (serverAuth() === "") {
    session.user = null; // no auth on this server: nobody to ask about
    session.loaded = true;
    return;
  }
  try {
    session.user = await currentUser();
  } catch {
    session.user = null;
  }
  session.loaded = true;
}

function allowed(permission: string | undefined, need: string): boolean {
  // Without an explicit grant the server's default permission applies, which the UI cannot see:
  // show the action and let the server decide.
  if (permission === undefined) return true;
  return (LEVELS[permission] ?? 0) >= (LEVELS[need] ?? 3);
}

export function canExperiment(experimentId: string, need: "READ" | "EDIT" | "MANAGE"): boolean {
  const u = session.user;
  if (!u || u.is_admin) return true;
  const p = u.experiment_permissions?.find((x) => String(x.experiment_id) === String(experimentId));
  return allowed(p?.permission ?? u.default_permission, need);
}

export function canModel(name: string, need: "READ" | "EDIT" | "MANAGE"): boolean {
  const u = session.user;
  if (!u || u.is_admin) return true;
  const p = u.registered_model_permissions?.find((x) => x.name === name);
  return allowed(p?.permission ?? u.default_permission, need);
}
