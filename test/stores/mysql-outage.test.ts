import mysql from 'mysql2/promise';
import { mysqlStore } from '../../src/stores/mysql/index.js';
import { runOutageSuite } from '../support/sql-outage.js';
import { dedicatedMariadb, dedicatedSkip } from '../support/sql-servers.js';

// Port 3398: a server of this test's own; the shared one on 3399 is never stopped.
runOutageSuite({
  name: 'mysql (MariaDB)',
  skip: dedicatedSkip('mariadb'),
  server: () => dedicatedMariadb(3398),
  async prepare(server) {
    const admin = await mysql.createConnection(server.url);
    await admin.query('CREATE DATABASE IF NOT EXISTS tessera');
    await admin.end();
    return server.url.replace(/\/mysql$/, '/tessera');
  },
  open: (url, { table, timeout, onError }) =>
    mysqlStore({ connection: url, table, timeout, onError }),
});
