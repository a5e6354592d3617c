from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import select

from app.api.deps import CurrentUser, SessionDep, get_current_active_superuser
from app.models import Order, OrderLine
from app.schemas import OrderCreate, OrderOut, OrderUpdate
from app.services import orders as order_service

router = APIRouter(prefix="/orders", tags=["orders"])


@router.get("/", response_model=list[OrderOut])
def read_orders(session: SessionDep, current_user: CurrentUser, skip: int = 0, limit: int = 100) -> Any:
    return order_service.list_orders(session, owner_id=current_user.id, skip=skip, limit=limit)


@router.get("/{order_id}", response_model=OrderOut)
def read_order(order_id: int, session: SessionDep, current_user: CurrentUser) -> Any:
    order = session.get(Order, order_id)  # expect: BOLA001
    if not order:
        raise HTTPException(status_code=404, detail="Order not found")
    return order


@router.get("/{order_id}/receipt")
def read_receipt(order_id: int, session: SessionDep, current_user: CurrentUser) -> Any:
    order = session.get(Order, order_id)
    if not order:
        raise HTTPException(status_code=404, detail="Order not found")
    if not current_user.is_superuser and (order.owner_id != current_user.id):
        raise HTTPException(status_code=400, detail="Not enough permissions")
    return {"order": order.id, "status": order.status}


@router.put("/{order_id}", response_model=OrderOut)
def update_order(order_id: int, order_in: OrderUpdate, session: SessionDep, current_user: CurrentUser) -> Any:
    order = order_service.get_order(session, order_id)  # expect: BOLA002
    if order is None:
        raise HTTPException(status_code=404, detail="Order not found")
    for field, value in order_in.model_dump(exclude_unset=True).items():
        setattr(order, field, value)
    session.commit()
    return order


@router.delete("/{order_id}")
def cancel_order(order_id: int, session: SessionDep, current_user: CurrentUser) -> dict[str, str]:
    order = order_service.get_order_for_user(session, order_id, current_user)
    if order is None:
        raise HTTPException(status_code=404, detail="Order not found")
    order.status = "cancelled"
    session.commit()
    return {"status": "cancelled"}


@router.post("/", response_model=OrderOut)
def create_order(order_in: OrderCreate, session: SessionDep, current_user: CurrentUser) -> Any:
    order = Order(**order_in.model_dump(), owner_id=current_user.id)
    session.add(order)
    session.commit()
    return order


@router.post("/on-behalf", response_model=OrderOut)
def create_order_for(order_in: OrderCreate, session: SessionDep, current_user: CurrentUser) -> Any:
    order = Order(status="new", owner_id=order_in.customer_id)  # expect: BOLA003
    session.add(order)
    session.commit()
    return order


@router.get("/{order_id}/lines/{line_id}")
def read_order_line(order_id: int, line_id: int, session: SessionDep, current_user: CurrentUser) -> Any:
    order = order_service.get_order_for_user(session, order_id, current_user)
    if order is None:
        raise HTTPException(status_code=404)
    line = session.get(OrderLine, line_id)  # expect: BOLA004
    if line is None:
        raise HTTPException(status_code=404)
    return line


@router.patch("/{order_id}/lines/{line_id}")
def change_quantity(order_id: int, line_id: int, quantity: int, session: SessionDep, current_user: CurrentUser) -> Any:
    order = order_service.get_order_for_user(session, order_id, current_user)
    if order is None:
        raise HTTPException(status_code=404)
    line = session.scalars(
        select(OrderLine).where(OrderLine.id == line_id, OrderLine.order_id == order.id)
    ).one_or_none()
    if line is None:
        raise HTTPException(status_code=404)
    line.quantity = quantity
    session.commit()
    return line


@router.delete("/{order_id}/lines/{line_id}")
def delete_line(order_id: int, line_id: int, session: SessionDep, current_user: CurrentUser) -> None:
    order = order_service.get_order_for_user(session, order_id, current_user)
    if order is None:
        raise HTTPException(status_code=404)
    order_service.remove_line(session, order, line_id)


@router.get("/admin/{order_id}", dependencies=[Depends(get_current_active_superuser)])
def admin_read_order(order_id: int, session: SessionDep) -> Any:
    return session.get(Order, order_id)


@router.get("/users/{user_id}/orders")
def orders_of_user(user_id: int, session: SessionDep, current_user: CurrentUser) -> Any:
    return session.scalars(select(Order).where(Order.owner_id == user_id)).all()  # expect: BOLA003
