"""One router per area: ``router = APIRouter(prefix="/<area>", tags=[...])``, listed in
``dutystation.api.app.ROUTERS``."""
