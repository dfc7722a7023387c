/**
 * The emulator's certificate authority, made once per state dir with the openssl CLI (no npm
 * dependency) and reused on restart, so clients that trusted it keep trusting it. Its PEM
 * (`tls/ca.pem`) is what `caCertPath` / `NODE_EXTRA_CA_CERTS` point to; it signs every server
 * certificate the local Azure presents: the ARM front door (127.0.0.1), each PostgreSQL server and
 * the Container Apps ingress (`*.<defaultDomain>`, `*.internal.<defaultDomain>`).
 *
 * State dirs from before the CA existed (a self-signed `tls/cert.pem`) simply get a new CA.
 * Leaves are cached under `tls/leaves/`, named by their subject names.
 */
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)
const OPENSSL = existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl'
const SYSTEM_CAS = '/etc/ssl/certs/ca-certificates.crt'

export interface Leaf {
  cert: string
  key: string
  certPath: string
  keyPath: string
}

/** What the ARM server presents, and the CA PEM clients are told to trust. */
export interface TlsMaterial {
  /** The CA certificate (PEM file) clients trust. */
  certPath: string
  /** The ARM server's own leaf, signed by the CA. */
  cert: string
  key: string
}

function sanList(names: string[]): string {
  return names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',')
}

export class CertificateAuthority {
  readonly certPath: string
  readonly keyPath: string
  readonly cert: string
  private readonly leavesDir: string
  private readonly pending = new Map<string, Promise<Leaf>>()

  private constructor(private readonly dir: string) {
    this.certPath = join(dir, 'ca.pem')
    this.keyPath = join(dir, 'ca-key.pem')
    this.leavesDir = join(dir, 'leaves')
    if (!existsSync(this.certPath) || !existsSync(this.keyPath)) this.create()
    this.cert = readFileSync(this.certPath, 'utf8')
  }

  static open(stateDir: string): CertificateAuthority {
    const dir = join(stateDir, 'tls')
    mkdirSync(dir, { recursive: true })
    return new CertificateAuthority(dir)
  }

  private create(): void {
    const tmpCert = `${this.certPath}.${process.pid}.tmp`
    const tmpKey = `${this.keyPath}.${process.pid}.tmp`
    execFileSync(
      OPENSSL,
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-sha256',
        '-days',
        '3650',
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
        '-subj',
        '/CN=mlflow-azure-action local Azure CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign'
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] }
    )
    // Key first: a cert without its key would make the next start regenerate only half. Leaves of
    // an earlier CA are worthless now.
    renameSync(tmpKey, this.keyPath)
    renameSync(tmpCert, this.certPath)
    rmSync(this.leavesDir, { recursive: true, force: true })
  }

  /**
   * A file with the machine's public CAs plus this CA, for Python clients (`REQUESTS_CA_BUNDLE`,
   * `SSL_CERT_FILE`) that must trust both the ingress and the real internet.
   */
  bundle(): string {
    const path = join(this.dir, 'ca-bundle.pem')
    const system = existsSync(SYSTEM_CAS) ? readFileSync(SYSTEM_CAS, 'utf8') : ''
    const text = `${system.trimEnd()}\n${this.cert}`
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
      writeFileSync(`${path}.${process.pid}.tmp`, text)
      renameSync(`${path}.${process.pid}.tmp`, path)
    }
    return path
  }

  private paths(names: string[]): { base: string; certPath: string; keyPath: string } {
    const hash = createHash('sha256').update(names.join(',')).digest('hex').slice(0, 12)
    const label = (names[0] ?? 'leaf').replace(/[^a-zA-Z0-9.-]/g, '_').slice(0, 60)
    const base = join(this.leavesDir, `${label}-${hash}`)
    return { base, certPath: `${base}.pem`, keyPath: `${base}-key.pem` }
  }

  private read(certPath: string, keyPath: string): Leaf | undefined {
    if (!existsSync(certPath) || !existsSync(keyPath)) return undefined
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath }
  }

  private steps(names: string[], base: string): { csr: string[]; sign: string[]; ext: string } {
    const cn = (names[0] ?? 'localhost').slice(0, 64)
    const ext = [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${sanList(names)}`,
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid,issuer'
    ].join('\n')
    const tmp = `${base}.${process.pid}`
    return {
      ext,
      csr: [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        `${tmp}.key`,
        '-out',
        `${tmp}.csr`,
        '-subj',
        `/CN=${cn}`
      ],
      sign: [
        'x509',
        '-req',
        '-in',
        `${tmp}.csr`,
        '-CA',
        this.certPath,
        '-CAkey',
        this.keyPath,
        '-set_serial',
        `0x${createHash('sha256').update(`${base}${Date.now()}${Math.random()}`).digest('hex').slice(0, 16)}`,
        '-days',
        '825',
        '-sha256',
        '-extfile',
        `${tmp}.ext`,
        '-out',
        `${tmp}.crt`
      ]
    }
  }

  private finish(base: string, certPath: string, keyPath: string): Leaf {
    const tmp = `${base}.${process.pid}`
    renameSync(`${tmp}.key`, keyPath)
    renameSync(`${tmp}.crt`, certPath)
    rmSync(`${tmp}.csr`, { force: true })
    rmSync(`${tmp}.ext`, { force: true })
    return this.read(certPath, keyPath) as Leaf
  }

  /** A server certificate for these names (DNS names or IPs), signed by the CA; made once. */
  issueSync(names: string[]): Leaf {
    const { base, certPath, keyPath } = this.paths(names)
    const cached = this.read(certPath, keyPath)
    if (cached) return cached
    mkdirSync(this.leavesDir, { recursive: true })
    const { csr, sign, ext } = this.steps(names, base)
    writeFileSync(`${base}.${process.pid}.ext`, ext)
    execFileSync(OPENSSL, csr, { stdio: ['ignore', 'ignore', 'pipe'] })
    execFileSync(OPENSSL, sign, { stdio: ['ignore', 'ignore', 'pipe'] })
    return this.finish(base, certPath, keyPath)
  }

  /** As `issueSync`, without blocking the event loop (ingress SNI, PostgreSQL servers). */
  issue(names: string[]): Promise<Leaf> {
    const { base, certPath, keyPath } = this.paths(names)
    const cached = this.read(certPath, keyPath)
    if (cached) return Promise.resolve(cached)
    const running = this.pending.get(base)
    if (running) return running
    const work = (async () => {
      mkdirSync(this.leavesDir, { recursive: true })
      const { csr, sign, ext } = this.steps(names, base)
      writeFileSync(`${base}.${process.pid}.ext`, ext)
      await execFileAsync(OPENSSL, csr)
      await execFileAsync(OPENSSL, sign)
      return this.finish(base, certPath, keyPath)
    })().finally(() => this.pending.delete(base))
    this.pending.set(base, work)
    return work
  }
}

/** The ARM server's TLS: a leaf for 127.0.0.1/localhost signed by the state dir's CA. */
export function armTls(ca: CertificateAuthority): TlsMaterial {
  const leaf = ca.issueSync(['127.0.0.1', 'localhost'])
  return { certPath: ca.certPath, cert: leaf.cert, key: leaf.key }
}
