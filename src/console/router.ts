// Hash routes (`#/hooks/<id>`): the server serves one page, and a reload keeps the place.
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'hooks' }
  | { page: 'newHook' }
  | { page: 'hook'; id: string }
  | { page: 'editHook'; id: string }
  | { page: 'deliveries' }
  | { page: 'delivery'; id: string }
  | { page: 'users' }
  | { page: 'portal' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'hooks' && parts[1] === 'new') return { page: 'newHook' };
  if (parts[0] === 'hooks' && parts[1] && parts[2] === 'edit') return { page: 'editHook', id: parts[1] };
  if (parts[0] === 'hooks' && parts[1]) return { page: 'hook', id: parts[1] };
  if (parts[0] === 'deliveries' && parts[1]) return { page: 'delivery', id: parts[1] };
  if (parts[0] === 'deliveries') return { page: 'deliveries' };
  if (parts[0] === 'users') return { page: 'users' };
  if (parts[0] === 'portal') return { page: 'portal' };
  return { page: 'hooks' };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'hooks':
      return '#/';
    case 'newHook':
      return '#/hooks/new';
    case 'hook':
      return `#/hooks/${encodeURIComponent(route.id)}`;
    case 'editHook':
      return `#/hooks/${encodeURIComponent(route.id)}/edit`;
    case 'deliveries':
      return '#/deliveries';
    case 'delivery':
      return `#/deliveries/${encodeURIComponent(route.id)}`;
    case 'users':
      return '#/users';
    case 'portal':
      return '#/portal';
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
