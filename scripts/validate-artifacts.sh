#!/usr/bin/env bash
# Validates generated output directories with the pinned offline tools:
#   asl-validator (npm, package-lock.json)  every statemachines/*.asl.json
#   scripts/asl_rules.py (ours, stdlib Python)  every *.asl.json, for the rules AWS enforces at
#     create or run time that asl-validator does not check; its self-test runs first
#   cfn-lint, checkov (PyPI, requirements-test.txt)  every template.yaml and stacks/*.yaml
# Usage: scripts/validate-artifacts.sh DIR...   (each DIR is searched recursively)
# A missing tool or an empty DIR is an error: nothing is ever skipped silently.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

die() { printf 'validate-artifacts: %s\n' "$*" >&2; exit 1; }

(($# > 0)) || die "usage: scripts/validate-artifacts.sh DIR..."

ASL_VALIDATOR=$ROOT/node_modules/.bin/asl-validator
PY=$ROOT/.venv/bin/python
CFN_LINT=$ROOT/.venv/bin/cfn-lint
CHECKOV=$ROOT/.venv/bin/checkov
[[ -x $ASL_VALIDATOR ]] || die "asl-validator missing: run 'npm ci' (or scripts/test.sh)"
[[ -x $PY && -x $CFN_LINT && -x $CHECKOV ]] ||
    die "cfn-lint/checkov missing from .venv: run scripts/test.sh (pip install -r requirements-test.txt)"

want_asl=4.0.0
got_asl=$("$ASL_VALIDATOR" --version)
[[ $got_asl == "$want_asl" ]] || die "asl-validator $got_asl installed, $want_asl pinned: run 'npm ci'"
for pin in cfn-lint checkov; do
    want=$(sed -n "s/^$pin==//p" requirements-test.txt)
    got=$("$PY" -c "import importlib.metadata as m; print(m.version('$pin'))")
    [[ $got == "$want" ]] || die "$pin $got installed, $want pinned: run scripts/test.sh"
done

mapfile -t asl_files < <(find "$@" -path '*/statemachines/*.asl.json' -type f | sort)
mapfile -t templates < <(find "$@" \( -name template.yaml -o -path '*/stacks/*.yaml' \) -type f | sort)
((${#asl_files[@]} > 0)) || die "no statemachines/*.asl.json under: $*"
((${#templates[@]} > 0)) || die "no template.yaml under: $*"

failed=0
work=$(mktemp -d)
bg_pids=()
trap 'kill "${bg_pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# The validators are independent: cfn-lint and checkov run in the background while
# asl-validator and asl_rules.py run; their reports are printed in order afterwards.
# cfn-lint also validates the ASL embedded in each template (rule E3601).
"$CFN_LINT" --non-zero-exit-code warning -- "${templates[@]}" >"$work/cfn-lint.out" 2>&1 &
cfn_pid=$!
bg_pids+=("$cfn_pid")
# checkov: the CloudFormation framework only (no secrets or network scans of generated
# files). Two checks are skipped, both asking for a customer-managed KMS key:
#   CKV_AWS_158 (log groups): the state machines log with IncludeExecutionData: false, so the
#     groups hold no job data, and CloudWatch Logs encrypts at rest by default;
#   CKV_AWS_119 (DynamoDB tables): the run table is encrypted (SSESpecification, AWS-managed
#     key) and holds only join counters and claims.
#   A customer key needs a key policy for the account's services that the compiler cannot
#   write for the user; a KmsKeyArn template parameter would let both checks run.
"$CHECKOV" --quiet --compact --framework cloudformation --skip-check CKV_AWS_158,CKV_AWS_119 \
    --skip-download -f "${templates[@]}" >"$work/checkov.out" 2>&1 &
checkov_pid=$!
bg_pids+=("$checkov_pid")

# Definitions hold `${Name}` DefinitionSubstitutions that CloudFormation or the deployer fill
# in. They are replaced by dummy values of the same kind (an ARN for *Arn, a name otherwise)
# so the validator checks what AWS will see, including Resource ARNs.
# Line breaks in plain string values (not `*.$` paths or intrinsics) become spaces:
# asl-validator 4.0.0 checks payload strings against `^(?!\{% )(.+)(?! %\})$`, whose `.`
# stops at a line break, so it rejects any multi-line string (a migrated shell script in an
# ECS Command) that AWS accepts.
echo "asl-validator: ${#asl_files[@]} definition(s)"
"$PY" - "$work" "${asl_files[@]}" <<'EOF'
import json, re, sys
work, files = sys.argv[1], sys.argv[2:]
def dummy(m):
    name = m.group(1)
    if name.endswith("Arn"):
        return f"arn:aws:states:ap-northeast-1:123456789012:stateMachine:{name}"
    return f"placeholder-{name}"
def flatten(v, dynamic=False):
    if isinstance(v, dict):
        return {k: flatten(x, k.endswith(".$")) for k, x in v.items()}
    if isinstance(v, list):
        return [flatten(x, dynamic) for x in v]
    if isinstance(v, str) and not dynamic:
        return v.replace("\r", " ").replace("\n", " ")
    return v
for i, f in enumerate(files):
    text = open(f, encoding="utf-8").read()
    out = flatten(json.loads(re.sub(r"\$\{([A-Za-z0-9_]+)\}", dummy, text)))
    json.dump(out, open(f"{work}/{i}.json", "w", encoding="utf-8"), ensure_ascii=False)
EOF
# One validator run for all files; only when it fails, one run per file names the culprits.
args=()
for i in "${!asl_files[@]}"; do args+=(--json-path "$work/$i.json"); done
if ! "$ASL_VALIDATOR" --silent "${args[@]}" >/dev/null 2>&1; then
    for i in "${!asl_files[@]}"; do
        if ! out=$("$ASL_VALIDATOR" --json-path "$work/$i.json" 2>&1); then
            printf 'INVALID %s\n%s\n' "${asl_files[$i]}" "$out"
            failed=1
        fi
    done
    ((failed == 1)) || { echo "asl-validator failed on the batch but on no single file"; failed=1; }
fi

# The rules asl-validator does not check (States.ALL alone and last, field ranges, intrinsic
# functions, integration parameters, DynamoDB expressions, ...): scripts/asl_rules.py reads the
# definitions as generated (their ${Name} substitutions and manifest.json tie machines
# together). Its self-test first shows that it still reports every violation in
# scripts/asl_rules/bad.asl.json. SUSPECT and INFO findings are counted, never failed.
if ! "$PY" scripts/asl_rules.py --self-test; then
    failed=1
fi
if ! "$PY" scripts/asl_rules.py "$@"; then
    failed=1
fi

echo "cfn-lint: ${#templates[@]} template(s)"
if ! wait "$cfn_pid"; then
    failed=1
fi
cat "$work/cfn-lint.out"
echo "checkov: ${#templates[@]} template(s)"
if ! wait "$checkov_pid"; then
    echo "checkov found problems (see below)"
    failed=1
fi
cat "$work/checkov.out"

((failed == 0)) || die "generated artifacts are invalid (see above)"
echo "validate-artifacts: all valid"
