#!/usr/bin/env bash
# Convert an alignment dir's ali.*.gz to pdf-id and phone sequences (pdf.JOB.gz,
# phone.JOB.gz) and write num_pdfs and tid2pdf (one "tid pdf" line per transition-id).
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
out_dir=                # where to write (empty: the alignment dir)
# End configuration section.
usage="Usage: $0 [options] <ali-dir>
 e.g.: $0 exp/tri2_ali"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 1 "$@"
dir=$1
check_dirs "$dir"
check_files "$dir/final.mdl" "$dir/ali.1.gz"
mkdir -p "$dir/log"
nghf-ali-to-pdf ${out_dir:+--out-dir "$out_dir"} "$dir/final.mdl" "$dir" 2> "$dir/log/ali_to_pdf.log" \
  || { tail -n 5 "$dir/log/ali_to_pdf.log" >&2; exit 1; }
echo "$0: $(cat "${out_dir:-$dir}/num_pdfs") pdfs; pdf.*.gz, phone.*.gz, tid2pdf in ${out_dir:-$dir}"
