# Copyright 2026 The stream_infer Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Every performance figure in one command.

Run: ./dev.sh run python benchmarks/run_all.py [--quick] [--skip-node]

1. CPU per frame outside the model, per stage and in total, before (the baseline commit, taken
   from git into a temporary directory) and now (bench_cpu.py on each, in alternating passes),
   and the engine's throughput against the raw session.run loop (bundled CenterNet 512 and the
   YOLO-shaped 640 model).
2. The simulated accelerator (bench_accelerator.py): engine and node against 1000/N and
   against hand-written single-thread loops, N = 5, 10, 20 ms.
3. Frame age in real-time mode (bench_stream.py).

Figures go to out/bench/*.json as well. Each script also runs alone (see its --help).
"""

import argparse
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE_REVS = ('baseline-before-round', '05cb0be')  # the code before this round's work
STAGES = ('decode', 'preprocess', 'postprocess', 'track', 'result', 'predictions dict',
          'callbacks', 'node: image in', 'node: detections msg', 'node: publish')


def baseline_checkout(tmp: Path, given: str) -> Path:
    """Return a checkout of the baseline: the given directory, or `git archive` of it."""
    if given:
        return Path(given).resolve()
    for rev in BASELINE_REVS:
        archive = subprocess.run(['git', '-C', str(ROOT), 'archive', rev],
                                 capture_output=True)
        if archive.returncode == 0:
            target = tmp / 'baseline'
            target.mkdir()
            subprocess.run(['tar', '-x', '-C', str(target)], input=archive.stdout, check=True)
            print(f'baseline: {rev} (git archive into {target})', flush=True)
            return target
    raise SystemExit(f'no baseline commit ({", ".join(BASELINE_REVS)}) in this clone; give '
                     '--baseline DIR (a checkout of it)')


def run(script: str, *args: str) -> None:
    command = [sys.executable, str(HERE / script), *args]
    print(f'\n$ {" ".join(command[1:])}', flush=True)
    subprocess.run(command, check=True, env=dict(os.environ))


def merged(passes: list) -> dict:
    """Every figure over the passes: the least of CPU costs (see bench_cpu.py), else median."""
    out = {}
    least = set(STAGES) | {'non-model cpu (threads)', 'non-model cpu (no model)'}
    for model in passes[0]['results']:
        rows = [p['results'][model] for p in passes]
        out[model] = {key: (min if key in least else statistics.median)(r[key] for r in rows)
                      for key in rows[0] if isinstance(rows[0][key], (int, float))}
    return out


def cpu_comparison(before: dict, after: dict) -> None:
    models = list(after)
    print('\n=== CPU-ms per frame outside the model: baseline -> now (medians of passes) ===')
    print(f'{"":<24}' + ''.join(f'{m:>34}' for m in models))
    for row in STAGES + ('sum of stages', 'non-model cpu', 'non-model cpu (threads)',
                         'non-model cpu (no model)', 'model cpu'):
        cells = []
        for m in models:
            if row == 'sum of stages':
                b = sum(before[m].get(s, 0.0) for s in STAGES[:7])
                a = sum(after[m].get(s, 0.0) for s in STAGES[:7])
            elif row not in after[m]:
                cells.append(f'{"-":>34}')
                continue
            else:
                b, a = before[m].get(row, float('nan')), after[m][row]
            cells.append(f'{b:>12.3f} -> {a:>7.3f} ({a / b if b else float("nan"):>5.2f}x)')
        print(f'{row:<24}' + ''.join(cells))
    print(f'{"engine fps / raw fps":<24}' + ''.join(
        f'{before[m]["ratio"]:>12.2f} -> {after[m]["ratio"]:>7.2f}{"":>9}' for m in models
        if 'ratio' in after[m]))
    goals = {'bundled CenterNet 512': 0.97, 'YOLO-shaped 640': 0.92}
    for m in models:
        if 'non-model cpu' in after[m]:
            half = after[m]['non-model cpu'] <= 0.5 * before[m]['non-model cpu']
            ratio = after[m]['ratio'] >= goals.get(m, 1.0)
            print(f'  {m}: non-model CPU {before[m]["non-model cpu"]:.2f} -> '
                  f'{after[m]["non-model cpu"]:.2f} ms/frame ({"halved" if half else "NOT halved"}'
                  f'); engine/raw {after[m]["ratio"]:.2f} (goal >= {goals.get(m, 1.0):.2f}: '
                  f'{"met" if ratio else "not met"})')
    print('  sum of stages: decode..callbacks, each run alone; non-model cpu: the engine '
          'process CPU per frame minus the model CPU per frame (raw loop, same session)')


def accelerator_comparison(before: dict, after: dict) -> None:
    print('\n=== simulated accelerator: baseline -> now ===')
    print(f'{"":<12}{"engine fps":>22}{"engine / 1000/N":>20}{"hand-written loop":>22}'
          f'{"engine / hand":>18}{"engine CPU-ms":>18}')
    for n, a in after['engine'].items():
        b = before['engine'][n]
        print(f'N = {n:>3} ms  {b["engine fps"]:>9.1f} -> {a["engine fps"]:>6.1f}'
              f'{b["engine / limit"]:>10.2f} -> {a["engine / limit"]:>5.2f}'
              f'{b["hand fps"]:>12.1f} -> {a["hand fps"]:>5.1f}'
              f'{b["engine / hand"]:>10.2f} -> {a["engine / hand"]:>4.2f}'
              f'{b["engine cpu ms"]:>10.2f} -> {a["engine cpu ms"]:>4.2f}')
    print('  the hand-written loop runs the pieces of the same version in series: cheaper '
          'pieces make it faster too')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--baseline', default='', help='a checkout of the baseline commit')
    parser.add_argument('--passes', type=int, default=2,
                        help='alternating baseline/now runs of bench_cpu.py')
    parser.add_argument('--frames', type=int, default=100)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--skip-baseline', action='store_true')
    parser.add_argument('--skip-node', action='store_true')
    parser.add_argument('--quick', action='store_true', help='fewer frames and rounds')
    args = parser.parse_args()
    if args.quick:
        args.passes, args.frames, args.rounds = 1, 40, 1
    out = ROOT / 'out' / 'bench'
    out.mkdir(parents=True, exist_ok=True)
    common = ['--frames', str(args.frames), '--rounds', str(args.rounds)]
    with tempfile.TemporaryDirectory() as tmp:
        baseline = None if args.skip_baseline else baseline_checkout(Path(tmp), args.baseline)
        before, after = [], []
        for index in range(args.passes):
            if baseline is not None:
                path = out / f'cpu_baseline_{index}.json'
                run('bench_cpu.py', '--code', str(baseline), '--json', str(path), *common)
                before.append(json.loads(path.read_text()))
            path = out / f'cpu_now_{index}.json'
            run('bench_cpu.py', '--json', str(path), *common)
            after.append(json.loads(path.read_text()))
        accel = ['--rounds', str(args.rounds)]
        if baseline is not None:
            run('bench_accelerator.py', '--code', str(baseline), '--json',
                str(out / 'accelerator_baseline.json'), *accel)
        run('bench_accelerator.py', '--json', str(out / 'accelerator.json'), *accel,
            *([] if args.skip_node else ['--node']))
    run('bench_stream.py', '--json', str(out / 'realtime.json'),
        *(['--seconds', '4'] if args.quick else []))
    if before:
        cpu_comparison(merged(before), merged(after))
        accelerator_comparison(json.loads((out / 'accelerator_baseline.json').read_text()),
                               json.loads((out / 'accelerator.json').read_text()))
    print(f'\nfigures in {out}')


if __name__ == '__main__':
    main()
