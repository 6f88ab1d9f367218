#!/usr/bin/env python3
# Splits a proxy's perf samples by the Swift module that owns them: the leaf frame's kind (kernel,
# code in the binary, libswiftCore, libc/vdso) and the nearest frame, walking from the leaf to
# the root, whose mangled name belongs to a module of the binary ($s<len><Module>...). So
# swift_retain called from SwiftNIO code counts as SwiftNIO, ByteBuffer code called from
# Switchyard's head writer counts as SwiftNIO too. Input: `perf script -F comm,tid,ip,sym,dso`
# of a `profile.sh --perf FILE` profile (call graphs); module frames are looked for only in a DSO whose
# path contains "switchyard". Usage: classify-perf.py SCRIPT.txt
import sys, re, collections
def module(sym):
    m = re.match(r'\$s(\d+)([A-Za-z_]\w*)', sym)
    if m:
        n = int(m.group(1)); return m.group(2)[:n]
    if sym.startswith('$ss'): return 'Swift'
    return None
groups = {'NIOCore':'SwiftNIO','NIOPosix':'SwiftNIO','NIOHTTP1':'SwiftNIO','NIOConcurrencyHelpers':'SwiftNIO','NIOEmbedded':'SwiftNIO','_NIODataStructures':'SwiftNIO','NIOSSL':'SwiftNIO'}
samples = []
cur = None
for line in open(sys.argv[1]):
    if not line.strip():
        if cur: samples.append(cur)
        cur = None; continue
    if not line.startswith((' ', '\t')):
        cur = {'comm': line.split()[0], 'frames': []}; continue
    parts = line.strip().split(None, 1)
    if len(parts) < 2: continue
    rest = parts[1]; sym, _, dso = rest.rpartition(' (')
    cur['frames'].append((sym, dso.rstrip(')')))
if cur: samples.append(cur)
tot = len(samples)
leafk = collections.Counter(); attr = collections.Counter(); threads = collections.Counter()
for s in samples:
    f = s['frames']
    if not f: continue
    sym, dso = f[0]
    threads[s['comm']] += 1
    if 'kernel' in dso: leaf = 'kernel'
    elif 'libswiftCore' in dso: leaf = 'Swift runtime/stdlib (libswiftCore)'
    elif 'libc.so' in dso or 'ld-linux' in dso or 'vdso' in dso or 'libm' in dso: leaf = 'libc/vdso'
    else: leaf = 'code in the binary'
    owner = None
    for sym2, dso2 in f:
        if 'kernel' in dso2 or 'switchyard' not in dso2: continue
        mod = module(sym2)
        if mod and mod != 'Swift':
            owner = groups.get(mod, 'NIO?' if mod.startswith('NIO') else mod); break
    if leaf == 'kernel': owner = 'kernel'
    leafk[leaf] += 1
    attr[(owner or 'unattributed', leaf)] += 1
print(f"{tot} samples; threads: " + ", ".join(f"{k} {100*v/tot:.1f}%" for k,v in threads.most_common()))
for k,v in leafk.most_common(): print(f"leaf {k}: {100*v/tot:.1f}%")
by_owner = collections.Counter()
for (o,l),v in attr.items(): by_owner[o]+=v
for o,v in by_owner.most_common():
    det = ", ".join(f"{l} {100*attr[(o,l)]/tot:.1f}" for l in ['code in the binary','Swift runtime/stdlib (libswiftCore)','libc/vdso'] if attr[(o,l)])
    print(f"{o}: {100*v/tot:.1f}%  ({det})")
