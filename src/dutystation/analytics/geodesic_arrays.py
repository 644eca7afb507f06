"""WGS84 geodesic distances for whole arrays of point pairs at once (numpy).

geographiclib's ``Inverse`` is exact but scalar Python: about 47 µs a pair here, 12 s for
250,000 people and one office each. This is Vincenty's inverse method (1975) on the same
ellipsoid, iterated for all pairs together: it agrees with geographiclib to well under a
millimetre wherever it converges (``tests/unit/test_geodesy.py`` checks 1 mm on random
pairs). It does not converge for nearly antipodal points; those few pairs (none exist
between US homes and US offices) are handed to geographiclib one by one, so every result
is a true geodesic distance.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dutystation.domain.geodesy import WGS84_A, WGS84_F, geodesic_metres

FloatArray = npt.NDArray[np.float64]

_B = WGS84_A * (1 - WGS84_F)
_TOLERANCE = 1e-12  # radians of lambda: well below a micrometre
_MAX_ITERATIONS = 200


def geodesic_metres_array(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Distances in metres between (lat1, lon1)[i] and (lat2, lon2)[i], degrees in. The
    inputs broadcast against each other (one office against many homes works)."""
    p1, l1, p2, l2 = np.broadcast_arrays(
        np.asarray(lat1, np.float64),
        np.asarray(lon1, np.float64),
        np.asarray(lat2, np.float64),
        np.asarray(lon2, np.float64),
    )
    shape = p1.shape
    p1, l1, p2, l2 = (np.ravel(a) for a in (p1, l1, p2, l2))
    out, failed = _vincenty(p1, l1, p2, l2)
    for i in np.flatnonzero(failed):
        out[i] = geodesic_metres(float(p1[i]), float(l1[i]), float(p2[i]), float(l2[i]))
    return out.reshape(shape)


def _vincenty(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    f = WGS84_F
    big_l = np.radians(lon2 - lon1)
    big_l = (big_l + np.pi) % (2 * np.pi) - np.pi  # the shorter way round
    u1 = np.arctan((1 - f) * np.tan(np.radians(lat1)))
    u2 = np.arctan((1 - f) * np.tan(np.radians(lat2)))
    sin_u1, cos_u1 = np.sin(u1), np.cos(u1)
    sin_u2, cos_u2 = np.sin(u2), np.cos(u2)

    n = big_l.shape[0]
    lam = big_l.copy()
    sin_sigma = np.zeros(n)
    cos_sigma = np.ones(n)
    sigma = np.zeros(n)
    cos2_alpha = np.ones(n)
    cos_2sm = np.zeros(n)
    active = np.ones(n, np.bool_)
    failed = np.zeros(n, np.bool_)
    for _ in range(_MAX_ITERATIONS):
        if not active.any():
            break
        i = np.flatnonzero(active)
        lam_i = lam[i]
        sin_lam, cos_lam = np.sin(lam_i), np.cos(lam_i)
        a_term = cos_u2[i] * sin_lam
        b_term = cos_u1[i] * sin_u2[i] - sin_u1[i] * cos_u2[i] * cos_lam
        s_sig = np.hypot(a_term, b_term)
        c_sig = sin_u1[i] * sin_u2[i] + cos_u1[i] * cos_u2[i] * cos_lam
        sig = np.arctan2(s_sig, c_sig)
        coincident = s_sig == 0
        safe_s = np.where(coincident, 1.0, s_sig)
        sin_alpha = np.where(coincident, 0.0, cos_u1[i] * cos_u2[i] * sin_lam / safe_s)
        c2a = 1 - sin_alpha**2
        # On the equator cos²α is 0 and the term is undefined; its limit is 0.
        c2sm = np.where(
            c2a == 0, 0.0, c_sig - 2 * sin_u1[i] * sin_u2[i] / np.where(c2a == 0, 1, c2a)
        )
        big_c = f / 16 * c2a * (4 + f * (4 - 3 * c2a))
        lam_new = big_l[i] + (1 - big_c) * f * sin_alpha * (
            sig + big_c * s_sig * (c2sm + big_c * c_sig * (-1 + 2 * c2sm**2))
        )
        sin_sigma[i], cos_sigma[i], sigma[i] = s_sig, c_sig, sig
        cos2_alpha[i], cos_2sm[i] = c2a, c2sm
        done = (np.abs(lam_new - lam_i) < _TOLERANCE) | coincident
        diverged = np.abs(lam_new) > np.pi
        lam[i] = lam_new
        failed[i[diverged]] = True
        active[i[done | diverged]] = False
    failed |= active  # never converged

    u_sq = cos2_alpha * (WGS84_A**2 - _B**2) / _B**2
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    delta_sigma = (
        big_b
        * sin_sigma
        * (
            cos_2sm
            + big_b
            / 4
            * (
                cos_sigma * (-1 + 2 * cos_2sm**2)
                - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
            )
        )
    )
    distance: FloatArray = _B * big_a * (sigma - delta_sigma)
    return distance, failed
