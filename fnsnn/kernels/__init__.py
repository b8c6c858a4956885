"""Code generators for the neuron engine: elementwise programs, the C scan, the Triton scan.

:mod:`fnsnn.kernels.ir` traces a step into an elementwise program;
:mod:`fnsnn.kernels.cpu` prints it as C for the CPU; :mod:`fnsnn.kernels.triton_scan`
prints it as Triton kernels for CUDA (importing that module needs Triton). Nothing
here knows a neuron family: :mod:`fnsnn.neurons._engine` hands them programs.
"""
