// The floor for the GraphQL scenarios: a bare node:http + pg server answering the same data with
// one hand-written SQL statement per request, the JSON built in PostgreSQL. It parses the request
// and reads the database, as Hookgate must, and does nothing else (no auth, no validation).
// Usage: node bench/graphql-floor.mjs PORT DATABASE_URL
import { createServer } from 'node:http';
import pg from 'pg';

const [port, databaseUrl] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });

const iso = (column) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const globalId = (type, column) => `encode(convert_to('${type}:' || ${column}, 'UTF8'), 'base64')`;

const HOOK_BY_ID = `
  SELECT json_build_object('data', json_build_object('hook', (
    SELECT json_build_object('id', ${globalId('Hook', 'h.id')}, 'databaseId', h.id, 'url', h.url, 'name', h.name,
      'events', h.events, 'isActive', h.is_active, 'hasSecret', h.secret IS NOT NULL, 'createdAt', ${iso('h.created_at')})
    FROM hooks h WHERE h.id = $1)))::text AS body`;

const HOOKS_PAGE = `
  SELECT json_build_object('data', json_build_object('hooks', json_build_object(
    'totalCount', (SELECT count(*) FROM hooks WHERE subject = $1),
    'nodes', coalesce(json_agg(json_build_object(
      'id', ${globalId('Hook', 'h.id')}, 'databaseId', h.id, 'url', h.url, 'events', h.events, 'hasSecret', h.secret IS NOT NULL,
      'createdBy', (SELECT json_build_object('username', u.username) FROM users u WHERE u.id = h.created_by_id),
      'urlVariables', coalesce((SELECT json_agg(json_build_object('key', v.key) ORDER BY v.key) FROM url_variables v WHERE v.hook_id = h.id), '[]'),
      'deliveries', json_build_object('nodes', coalesce((
        SELECT json_agg(json_build_object('databaseId', d.id, 'event', e.name, 'status', d.status, 'attemptCount', d.attempt_count,
          'attempts', coalesce((SELECT json_agg(json_build_object('startedAt', ${iso('a.started_at')}, 'durationMs', a.duration_ms,
            'responseStatus', a.response_status) ORDER BY a.started_at) FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]'))
          ORDER BY d.id DESC)
        FROM (SELECT * FROM deliveries WHERE hook_id = h.id ORDER BY id DESC LIMIT 5) d JOIN events e ON e.id = d.event_id), '[]'))
    ) ORDER BY h.id), '[]'))))::text AS body
  FROM (SELECT * FROM hooks WHERE subject = $1 ORDER BY id LIMIT 100) h`;

const DELIVERIES_PAGE = `
  SELECT json_build_object('data', json_build_object('deliveries', json_build_object(
    'nodes', coalesce(json_agg(json_build_object('databaseId', d.id, 'event', e.name, 'status', d.status,
      'attemptCount', d.attempt_count, 'createdAt', ${iso('d.created_at')}) ORDER BY d.created_at DESC, d.id DESC), '[]'))))::text AS body
  FROM (SELECT * FROM deliveries WHERE status = 'FAILED' ORDER BY created_at DESC, id DESC LIMIT 50) d JOIN events e ON e.id = d.event_id`;

function statementFor(variables) {
  if (typeof variables.id === 'string') {
    const [, id] = Buffer.from(variables.id, 'base64').toString('utf8').split(':');
    return [HOOK_BY_ID, [Number(id)]];
  }
  if (typeof variables.subject === 'string') return [HOOKS_PAGE, [variables.subject]];
  return [DELIVERIES_PAGE, []];
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const { variables = {} } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const [sql, params] = statementFor(variables);
      const { rows } = await pool.query(sql, params);
      const body = Buffer.from(rows[0].body);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
}).listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
