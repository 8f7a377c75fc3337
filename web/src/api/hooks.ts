import { useQuery } from "@tanstack/react-query";
import { keys } from "./cache";
import { ApiError } from "./http";
import { listPhoneNumbers, listTemplates, listUsers } from "./resources";

export function useUsers() {
  return useQuery({ queryKey: keys.users, queryFn: listUsers, staleTime: 60_000 });
}

export function usePhoneNumbers() {
  return useQuery({ queryKey: keys.phoneNumbers, queryFn: listPhoneNumbers, staleTime: 60_000 });
}

/** Templates, or why they cannot be listed (a server without the templates API answers 404). */
export function useTemplates() {
  const query = useQuery({
    queryKey: keys.templates,
    queryFn: listTemplates,
    staleTime: 60_000,
    meta: { silent: true },
    retry: false,
  });
  const unavailable = query.error
    ? query.error instanceof ApiError && query.error.status === 404
      ? "This server does not offer the templates list yet, so templates cannot be chosen here."
      : `Templates could not be loaded: ${query.error.message}`
    : null;
  return { ...query, unavailable };
}
