/**
 * Every ARM request in arrival order with the status it got, so tests can count reads and writes
 * and compare seeded fault runs. Appended to `requests.jsonl` as each answer goes out, so the log
 * survives a restart like the rest of the state.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface RequestEntry {
  method: string
  /** As sent, without the query string. */
  path: string
  /** HTTP status answered; 0 when the connection was dropped on purpose. */
  status: number
  /** When it arrived (epoch ms): benchmarks time the action's first request and overlapping runs. */
  at: number
}

interface StoredEntry extends RequestEntry {
  seq: number
}

export class RequestLog {
  private readonly entries: StoredEntry[] = []
  private readonly file: string

  constructor(stateDir: string) {
    this.file = join(stateDir, 'requests.jsonl')
    if (existsSync(this.file)) {
      for (const line of readFileSync(this.file, 'utf8').split('\n')) {
        if (!line.trim()) continue
        try {
          this.entries.push(JSON.parse(line) as StoredEntry)
        } catch {
          // A line torn by a kill mid-append carries no answer worth keeping.
        }
      }
      this.entries.sort((a, b) => a.seq - b.seq)
    }
  }

  /** Registers the request now so the order is arrival order, whatever order answers leave in. */
  begin(method: string, path: string): StoredEntry {
    const entry: StoredEntry = {
      seq: (this.entries.at(-1)?.seq ?? 0) + 1,
      method,
      path,
      status: -1,
      at: Date.now()
    }
    this.entries.push(entry)
    return entry
  }

  finish(entry: StoredEntry, status: number): void {
    entry.status = status
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`)
  }

  all(): RequestEntry[] {
    return this.entries
      .filter((e) => e.status !== -1)
      .map(({ method, path, status, at }) => ({ method, path, status, at }))
  }
}
