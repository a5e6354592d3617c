"""Audit and sharing endpoints: owner ids passed to logs and checks, not to queries."""

from uuid import UUID

from fastapi import APIRouter, HTTPException

from app.api.deps import CurrentUser, SessionDep
from app.models import Order
from app.services.audit import audit_decision, ensure_can_share, resolve_owner

router = APIRouter(prefix="/orders", tags=["audit"])


@router.post("/{order_id}/share")
async def share_order(order_id: int, session: SessionDep, current_user: CurrentUser, note: str):
    owner_id = await resolve_owner(session, order_id)
    if owner_id is None:
        raise HTTPException(status_code=404, detail="Order not found")
    await ensure_can_share(user=current_user, owner_id=owner_id)
    order = session.get(Order, order_id)
    if order.owner_id != current_user.id:
        raise HTTPException(status_code=404, detail="Order not found")
    await audit_decision(user_id=owner_id, action="order:share", obj=f"order:{order_id}")
    return {"shared": order_id, "note": note}


@router.get("/{order_id}/events")
async def order_events(order_id: UUID, actor_id: int | None, session: SessionDep,
                       current_user: CurrentUser):
    await audit_decision(user_id=actor_id or current_user.id, action="order:events",
                         obj=f"order:{order_id}")
    return []
