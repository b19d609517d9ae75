/**
 * s3rver as a process of its own (test/helpers/s3-server.ts starts it): it serves the folder
 * given in argv[2] on 127.0.0.1 at a free port, with the buckets named in argv[3] (comma-separated),
 * prints `listening <port>` once ready, and stops when its standard input closes, so it never
 * outlives the process that started it.
 */
import S3rver from 's3rver';

const [directory, buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets
    .split(',')
    .filter(Boolean)
    .map((name) => ({ name, configs: [] })),
});
const { port } = await server.run();
process.stdout.write(`listening ${port}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
process.stdin.on('error', () => process.exit(0));
