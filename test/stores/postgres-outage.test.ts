import { postgresStore } from '../../src/stores/postgres/index.js';
import { runOutageSuite } from '../support/sql-outage.js';
import { dedicatedPostgres, dedicatedSkip } from '../support/sql-servers.js';

// Port 5498: a server of this test's own; the shared one on 5499 is never stopped.
runOutageSuite({
  name: 'postgres',
  skip: dedicatedSkip('postgres'),
  server: () => dedicatedPostgres(5498),
  prepare: async (server) => server.url,
  open: (url, { table, timeout, onError }) =>
    postgresStore({ connection: url, table, timeout, onError }),
});
