/**
 * S3 artifact benchmark: bytes to and from an S3-compatible server (s3rver on loopback, in this
 * process) through the built-in `s3://` repository in its worker, against the same AWS SDK calls
 * made in process in the same run (the ceiling: what the repository adds is the worker boundary
 * and its streams). Rounds interleave candidate and ceiling; medians are kept. Beside each
 * figure: the growth of the process's resident memory while the bytes moved, which must stay far
 * below the size moved (multipart parts and ranged reads bound it).
 *
 *   node dist/bench/s3.js [--quick]
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { artifactRepository } from '@flowhost/sdk';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Flowhost } from '../host/flowhost.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { fmt, machine, printTable, ratio } from './lib.js';

const MiB = 1024 * 1024;

/** `total` bytes in 1 MiB chunks of one reused pattern: the source costs nothing measurable. */
async function* source(total: number): AsyncGenerator<Uint8Array> {
  const chunk = new Uint8Array(MiB).map((_, i) => i % 251);
  for (let sent = 0; sent < total; sent += chunk.byteLength)
    yield chunk.subarray(0, Math.min(chunk.byteLength, total - sent));
}

/** Runs `work`, sampling resident memory every 20 ms; returns seconds taken and the peak growth. */
async function measured(work: () => Promise<void>): Promise<{ seconds: number; rssGrowth: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return { seconds: (performance.now() - started) / 1000, rssGrowth: Math.max(0, peak - before) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function runS3Bench(argv = process.argv): Promise<void> {
  const quick = argv.includes('--quick');
  const size = (quick ? 64 : 256) * MiB;
  const rounds = quick ? 1 : 3;
  const server = await startS3Server({ buckets: ['bench'] });
  const host = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [], env: {} },
    env: server.env,
    onOutput: () => {},
  });
  const client = new S3Client({
    endpoint: server.env.MLFLOW_S3_ENDPOINT_URL,
    region: server.env.AWS_DEFAULT_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: server.env.AWS_ACCESS_KEY_ID, secretAccessKey: server.env.AWS_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    const uri = 's3://bench/artifacts';
    const repo = await host.remote(
      artifactRepository,
      host.registry.find('artifact_repository', 's3')!,
      artifactRepository.contextForUri(uri),
    );
    await repo.listArtifacts(null); // the worker is started before anything is timed
    const results = {
      inUp: [] as number[],
      upRss: [] as number[],
      ceilUp: [] as number[],
      inDown: [] as number[],
      downRss: [] as number[],
      ceilDown: [] as number[],
    };
    for (let round = 0; round < rounds; round++) {
      const up = await measured(() => repo.writeArtifact('big.bin', source(size)));
      const ceilingUp = await measured(async () => {
        const upload = new Upload({
          client,
          params: { Bucket: 'bench', Key: 'ceiling/big.bin', Body: Readable.from(source(size)) },
          partSize: 8 * MiB,
          queueSize: 4,
        });
        await upload.done();
      });
      const down = await measured(async () => {
        for await (const chunk of await repo.readArtifact('big.bin')) void chunk;
      });
      const ceilingDown = await measured(async () => {
        const object = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: 'ceiling/big.bin' }));
        for await (const chunk of object.Body as Readable) void chunk;
      });
      results.inUp.push(size / up.seconds);
      results.upRss.push(up.rssGrowth);
      results.ceilUp.push(size / ceilingUp.seconds);
      results.inDown.push(size / down.seconds);
      results.downRss.push(down.rssGrowth);
      results.ceilDown.push(size / ceilingDown.seconds);
    }
    const mbs = (bytesPerSecond: number) => fmt(bytesPerSecond / 1e6, 0);
    console.log(
      `\nS3 artifacts: ${size / MiB} MiB to and from s3rver on loopback, ${rounds} round(s), medians`,
      machine(),
    );
    printTable([
      ['path', 'MB/s', 'ceiling MB/s', 'ratio', 'RSS growth', 'of size'],
      [
        'upload (file-less stream → worker → S3)',
        mbs(median(results.inUp)),
        mbs(median(results.ceilUp)),
        ratio(median(results.inUp), median(results.ceilUp)),
        `${fmt(median(results.upRss) / MiB)} MiB`,
        ratio(median(results.upRss), size),
      ],
      [
        'download (S3 → worker → host)',
        mbs(median(results.inDown)),
        mbs(median(results.ceilDown)),
        ratio(median(results.inDown), median(results.ceilDown)),
        `${fmt(median(results.downRss) / MiB)} MiB`,
        ratio(median(results.downRss), size),
      ],
    ]);
    console.log(
      'ceiling: the same AWS SDK calls made in this process (multipart upload, one GET); s3rver shares the process and its cores',
    );
  } finally {
    client.destroy();
    await host.close();
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runS3Bench();
