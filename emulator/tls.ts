/**
 * The emulator's self-signed certificate, created once per state dir with the openssl CLI (no npm
 * dependency) and reused on restart so clients that trusted it keep trusting it.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'

export interface TlsMaterial {
  certPath: string
  cert: string
  key: string
}

const OPENSSL = existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl'

export function ensureCertificate(stateDir: string): TlsMaterial {
  const dir = join(stateDir, 'tls')
  const certPath = join(dir, 'cert.pem')
  const keyPath = join(dir, 'key.pem')
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true })
    const tmpCert = `${certPath}.${process.pid}.tmp`
    const tmpKey = `${keyPath}.${process.pid}.tmp`
    execFileSync(
      OPENSSL,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '3650',
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
        '-subj',
        '/CN=mlflow-azure-action local ARM emulator',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost'
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] }
    )
    // Key first: a cert without its key would make the next start regenerate only half.
    renameSync(tmpKey, keyPath)
    renameSync(tmpCert, certPath)
  }
  return { certPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') }
}
