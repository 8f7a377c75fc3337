import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import * as api from "../api/resources";
import type { TenantOut } from "../client/types.gen";
import {
  clearSession,
  getSessionUser,
  onSessionEnded,
  refreshSession,
  startSession,
  type SessionUser,
} from "../api/session";

export type AuthStatus = "loading" | "authenticated" | "anonymous";

export type Auth = {
  status: AuthStatus;
  user: SessionUser | null;
  tenant: TenantOut | null;
  isAdmin: boolean;
  /** Why the last session ended, shown on the login page. */
  endedReason: string | null;
  login: (email: string, password: string) => Promise<void>;
  register: (input: { companyName: string; name: string; email: string; password: string }) => Promise<void>;
  logout: () => Promise<void>;
  /** Reload the user and company (after a change to either). */
  refreshProfile: () => Promise<void>;
};

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<AuthStatus>("loading");
  const [user, setUser] = useState<SessionUser | null>(null);
  const [tenant, setTenant] = useState<TenantOut | null>(null);
  const [endedReason, setEndedReason] = useState<string | null>(null);

  const enter = useCallback(async () => {
    setUser(getSessionUser());
    const profile = await api.me().catch(() => null);
    if (profile) {
      setUser(profile.user as SessionUser);
      setTenant(profile.tenant);
    }
    setEndedReason(null);
    setStatus("authenticated");
  }, []);

  // On load: the HttpOnly refresh cookie (if any) restores the session without asking for the password.
  useEffect(() => {
    let live = true;
    refreshSession()
      .catch(() => false)
      .then(async (ok) => {
        if (!live) return;
        if (ok) await enter();
        else setStatus("anonymous");
      });
    return () => {
      live = false;
    };
  }, [enter]);

  useEffect(
    () =>
      onSessionEnded(() => {
        queryClient.clear();
        setUser(null);
        setTenant(null);
        setEndedReason("Your session has ended. Please sign in again.");
        setStatus("anonymous");
      }),
    [queryClient],
  );

  const login = useCallback(
    async (email: string, password: string) => {
      const answer = await api.login(email, password);
      startSession({ accessToken: answer.accessToken, expiresIn: answer.expiresIn, user: answer.user as SessionUser });
      await enter();
    },
    [enter],
  );

  const register = useCallback(
    async (input: { companyName: string; name: string; email: string; password: string }) => {
      const answer = await api.register(input);
      startSession({ accessToken: answer.accessToken, expiresIn: answer.expiresIn, user: answer.user as SessionUser });
      setTenant(answer.tenant);
      await enter();
    },
    [enter],
  );

  const logout = useCallback(async () => {
    await api.logout().catch(() => undefined);
    clearSession();
    queryClient.clear();
    setUser(null);
    setTenant(null);
    setEndedReason(null);
    setStatus("anonymous");
  }, [queryClient]);

  const refreshProfile = useCallback(async () => {
    const profile = await api.me();
    setUser(profile.user as SessionUser);
    setTenant(profile.tenant);
  }, []);

  const value = useMemo<Auth>(
    () => ({ status, user, tenant, isAdmin: user?.role === "admin", endedReason, login, register, logout, refreshProfile }),
    [status, user, tenant, endedReason, login, register, logout, refreshProfile],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}
