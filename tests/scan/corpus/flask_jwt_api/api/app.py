from flask import Flask
from flask_jwt_extended import JWTManager

from api.extensions import db
from api.resources import bp

jwt = JWTManager()


def create_app():
    app = Flask(__name__)
    app.config.from_object("api.settings")
    db.init_app(app)
    jwt.init_app(app)
    app.register_blueprint(bp, url_prefix="/api")
    return app
