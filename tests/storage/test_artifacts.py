import hashlib
import io
import zipfile

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lawloop.storage import (
    IntegrityError,
    InvalidValueError,
    NotFoundError,
    decode_arrays,
    encode_arrays,
)
from tests.storage.conftest import race_writers

ARRAYS = {
    "x": np.linspace(0.0, 1.0, 7),
    "n": np.arange(6, dtype=np.int32).reshape(2, 3),
    "f": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "flag": np.array([True, False]),
    "scalar": np.float64(3.5),
    "label": np.array(["ab", "c"]),
}


def test_put_get_roundtrip(store):
    sha = store.put_arrays(ARRAYS)
    back = store.get_arrays(sha)
    assert list(back) == sorted(ARRAYS)
    for key, value in ARRAYS.items():
        np.testing.assert_array_equal(back[key], value)
        assert back[key].dtype == np.asarray(value).dtype
        assert back[key].shape == np.shape(value)


def test_identical_arrays_give_identical_bytes_and_one_row(store):
    reordered = dict(reversed(list(ARRAYS.items())))
    copy = {k: np.array(v, order="F") for k, v in ARRAYS.items()}
    assert encode_arrays(ARRAYS) == encode_arrays(reordered) == encode_arrays(copy)
    sha = store.put_arrays(ARRAYS)
    assert (
        store.put_arrays(reordered)
        == sha
        == hashlib.sha256(encode_arrays(ARRAYS)).hexdigest()
    )
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM artifact")).scalar_one() == 1


def test_bytes_are_a_plain_npz_with_fixed_dates():
    data = encode_arrays(ARRAYS)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert [i.filename for i in archive.infolist()] == [
            f"{k}.npy" for k in sorted(ARRAYS)
        ]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with np.load(io.BytesIO(data)) as npz:
        np.testing.assert_array_equal(npz["x"], ARRAYS["x"])


def test_a_changed_byte_is_detected_on_read(store):
    sha = store.put_arrays({"x": np.arange(4.0)})
    with store.engine.begin() as conn:
        data = conn.execute(sa.text("SELECT data FROM artifact")).scalar_one()
        corrupt = data[:-1] + bytes([data[-1] ^ 1])
        conn.execute(sa.text("UPDATE artifact SET data = :d"), {"d": corrupt})
    with pytest.raises(IntegrityError, match=f"`{sha}` is corrupt"):
        store.get_arrays(sha)
    with pytest.raises(IntegrityError):
        decode_arrays(corrupt, sha)


def test_unknown_hash_and_object_arrays_are_refused(store):
    with pytest.raises(NotFoundError, match="artifact"):
        store.get_arrays("0" * 64)
    with pytest.raises(InvalidValueError, match="`x`"):
        store.put_arrays({"x": np.array([{}, 1], dtype=object)})


@settings(max_examples=30, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int64, np.uint8]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
    )
)
def test_encoding_is_a_pure_function_of_the_arrays(array):
    data = encode_arrays({"a": array, "b": array.T})
    assert encode_arrays({"b": array.T.copy(), "a": array.copy()}) == data
    back = decode_arrays(data, hashlib.sha256(data).hexdigest())
    np.testing.assert_array_equal(back["a"], array, strict=True)
    np.testing.assert_array_equal(back["b"], array.T, strict=True)


def test_writers_storing_the_same_artifact_at_once_store_it_once(tmp_path):
    """Campaigns with the same seed measure the same designs: content-addressed, one row.

    The existence check and the insert are not atomic, so without
    `ON CONFLICT DO NOTHING` a later writer failed with a UNIQUE error.
    """
    url = f"sqlite:///{tmp_path / 'shared.db'}"

    def write(i, store, barrier):
        barrier.wait(timeout=30)
        for k in range(40):
            store.put_arrays({"x": np.arange(k, k + 64, dtype=np.float64)})

    errors = race_writers(url, 4, write)
    assert not errors, errors[:3]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM artifact").scalar_one() == 40
    engine.dispose()
