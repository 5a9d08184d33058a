// Stand-ins for the communication backends this build lacks: create fails with
// MOR_ERR_NOT_SUPPORTED and says how to build the backend in.
#include "comm/communicator.h"

namespace mor {

#if !defined(MOR_WITH_MPI)
std::unique_ptr<Communicator> create_mpi_communicator() {
  fail(MOR_ERR_NOT_SUPPORTED,
       "mor_comm_create_mpi: this library was built without MPI. Install an MPI implementation (Debian: "
       "libopenmpi-dev openmpi-bin) and rebuild the native library with -DMOR_MPI=ON (AUTO picks it up when found)");
}

std::string comm_build_info() { return "off"; }
#endif

#if !defined(MOR_WITH_NCCL)
std::unique_ptr<Communicator> create_nccl_communicator(Communicator&, mor_context_t*) {
  fail(MOR_ERR_NOT_SUPPORTED,
       "mor_comm_create_nccl: this library was built without NCCL. It needs the CUDA backend, MPI (for the NCCL "
       "unique-id exchange) and NCCL (nccl.h and libnccl; NCCL_HOME or the CUDA toolkit's folders are searched): "
       "rebuild with -DMOR_CUDA=ON -DMOR_MPI=ON -DMOR_NCCL=ON");
}
#endif

}  // namespace mor
