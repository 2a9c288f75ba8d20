import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EtcdTlsFiles } from './etcd.js';

const openssl = (args: string[], cwd: string) => promisify(execFile)('openssl', args, { cwd });

/**
 * A throwaway PKI made with openssl: a CA, a server certificate for 127.0.0.1 (and the name "svc") and a client
 * certificate signed by it, plus a second, unrelated CA (for "wrong CA" tests).
 */
export async function makeCertificates(): Promise<EtcdTlsFiles & { dir: string; otherCaFile: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-tls-'));
  const ca = async (name: string) => {
    await openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
  };
  const signed = async (name: string, extensions: string) => {
    await writeFile(join(dir, `${name}.ext`), extensions);
    await openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`],
      dir,
    );
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
  };
  await ca('ca');
  await ca('other-ca');
  await signed('server', 'subjectAltName=IP:127.0.0.1,DNS:svc\nextendedKeyUsage=serverAuth,clientAuth\n');
  await signed('client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    otherCaFile: join(dir, 'other-ca.crt'),
  };
}
