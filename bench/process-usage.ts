// CPU time and memory of a process and its descendants, read from /proc (Linux). Hookgate runs
// under tsx, which starts the real server as a child: the tree is what a request costs.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface ProcStat {
  pid: number;
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

function tree(root: number): ProcStat[] {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((s): s is ProcStat => s !== null);
  const members = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const stat of all) if (!members.has(stat.pid) && members.has(stat.ppid)) members.add(stat.pid), (grew = true);
  }
  return all.filter((stat) => members.has(stat.pid));
}

/** CPU milliseconds (user + system) used so far by `pid` and its descendants. */
export function cpuMs(pid: number): number {
  return (tree(pid).reduce((sum, stat) => sum + stat.cpuTicks, 0) * 1000) / TICKS_PER_SECOND;
}

/** Resident memory in MB of the largest process in the tree (the server, not its launcher). */
export function rssMb(pid: number): number {
  let largest = 0;
  for (const { pid: member } of tree(pid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${member}/status`, 'utf8'));
      if (match) largest = Math.max(largest, Number(match[1]) / 1024);
    } catch {
      // The process ended while we looked.
    }
  }
  return largest;
}
