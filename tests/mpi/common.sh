# Sourced by the mpi test scripts after they set `mpirun` and `out`: a fresh output
# folder, Open MPI's settings for the tests and the 3-rank launcher, and `same`.
rm -rf "$out"
mkdir -p "$out"
# The CI runs as root, which Open MPI refuses unless told; shared memory without
# cross-memory attach (not allowed in containers).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi=("$mpirun" --oversubscribe -np 3)

same() {  # same FILE DIR_A DIR_B: FILE byte for byte in both folders, else fail
  if ! cmp "$2/$1" "$3/$1"; then
    echo "FAIL: $1 differs between $2 and $3" >&2
    diff <(head -c 2000 "$2/$1") <(head -c 2000 "$3/$1") >&2 || true
    exit 1
  fi
}
