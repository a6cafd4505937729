"""Flask extensions, each instantiated once and bound in the app factory."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every model."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Counts requests per client address (behind a proxy, MATCHMAKER_PROXY_HOPS makes that the real client's);
# routes add their own limits, and the storage is RATELIMIT_STORAGE_URI (memory, or Redis to share counts).
limiter = Limiter(key_func=get_remote_address)
