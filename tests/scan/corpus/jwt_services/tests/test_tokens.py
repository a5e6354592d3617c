import jwt

TEST_KEY = "test-key-not-secret"


def test_roundtrip():
    token = jwt.encode({"sub": "1", "exp": 4102444800}, TEST_KEY, algorithm="HS256")
    assert jwt.decode(token, TEST_KEY, algorithms=["HS256"])["sub"] == "1"
