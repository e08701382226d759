/** The `--help` sections the scenario commands share (routes, virtual clients). */

/** The `--help` section on routes, shared by `start` and `balance`. */
export const ROUTES_HELP = `Routes (L7 routing to pools, as HAProxy use_backend / default_backend):
  --route "/api=b1,b2" --route "/static=b3"     path prefix: /api, /api/users, /apis (write /api/ for the subtree)
  --route "/api=b1,b2:least-conn"                the pool picks with its own algorithm (else --algo)
  --route "host:static.local=b3"                 Host header without the port; host:*.local for any subdomain
  --route "header:x-canary=1=b4"                 header equal to a value; header:x-canary=b4 when present at all
  --route "default=b1,b2"                        the default pool (HAProxy default_backend)
  Routes are tried in the order given; the first match wins. Routes to the same
  backends share one pool; a backend is in one pool at most. Requests no route
  matches go to the default pool: the backends no route names, or the one
  "default=" names; with every backend routed and no default=, they get 404.
  Each pool has its own picker, backups, retries (never outside the pool) and
  panic; the a key and "algo" events switch --algo, so every pool without an
  algorithm of its own. A routes file (--routes routes.yaml):
    pools:
      api: { backends: [b1, b2], algo: least-conn }
      static: { backends: [b3] }
    routes:                       # first match wins; several conditions: all must hold
      - { path: /api, pool: api }
      - { host: static.local, pool: static }
      - { header: x-canary, value: "1", pool: api }
    default: api                  # optional, as default= above`;


/** The `--help` section on virtual clients, shared by `start`, `compare` and `load`. */
export const CLIENTS_HELP = `
Virtual clients: --clients 50 sends from 127.0.0.2 … 127.0.0.51 (253 per /24,
then 127.0.1.2 …), so the balancer sees 50 different client IPs. Without
--spread-clients all clients of 127.0.0.x share one /24, and a hash of the
first three octets (nginx ip_hash on IPv4) puts them all on one backend;
--spread-clients uses 127.1.0.1, 127.1.1.1, … (one /24 each) instead.
Linux routes all of 127.0.0.0/8 to loopback; elsewhere add aliases first.
--header values may hold {client} (1 … N; 1 without --clients) and {seq}
(a request number unique in the run), e.g. --header "x-user=u{client}".
Each client (the single default one too) keeps a cookie jar: cookies a
response sets (Path, Max-Age, Expires honoured) go back on that client's
later requests, so cookie sticky sessions see it return; --no-cookies drops them.
--path /api/users --path /static/logo.png sends requests to each path in
turn (what L7 routes by); without it, every request asks for the URL's path
(for start: each --route path in turn, or /).`;
