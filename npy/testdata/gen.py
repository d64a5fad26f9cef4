# Generates the .npy fixtures of npy_test.go with numpy (Debian's
# python3-numpy): /usr/bin/python3 gen.py. The files are committed, so the
# tests need no numpy.
import numpy as np

np.save("f4.npy", np.array([0.5, -1.25, 3.0, 1e-3], dtype="<f4"))
np.save("i4_2x3.npy", np.arange(-3, 3, dtype="<i4").reshape(2, 3))
np.save("u1.npy", np.arange(250, 256, dtype="<u1"))
np.save("f8_3x2.npy", np.array([[1.0, 2.0], [3.5, -4.0], [1e300, 0.0]], dtype="<f8"))
np.save("f4_fortran_2x3.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
np.save("f4_fortran_1x4.npy", np.asfortranarray(np.arange(4, dtype="<f4").reshape(1, 4)))
np.save("f4_be.npy", np.array([1.0, 2.0], dtype=">f4"))
np.save("i8_scalar.npy", np.array(7, dtype="<i8"))
np.save("u2_empty.npy", np.zeros((0, 3), dtype="<u2"))
np.save("f2.npy", np.array([1.0], dtype="<f2"))
