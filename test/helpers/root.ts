/**
 * The project's root directory, found by walking up to its package.json, so the helpers work both
 * from `test/helpers/` under jest and compiled into `.build/proof/` for the benchmark and
 * reliability scripts.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'mlflow-azure-action'
    )
      return dir
    if (dirname(dir) === dir) throw new Error(`no mlflow-azure-action package.json above ${from}`)
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))
