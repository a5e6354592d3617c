from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Order, OrderLine, User


def get_order(session: Session, order_id: int) -> Order | None:
    return session.get(Order, order_id)


def get_order_for_user(session: Session, order_id: int, user: User) -> Order | None:
    stmt = select(Order).where(Order.id == order_id, Order.owner_id == user.id)
    return session.scalars(stmt).first()


def remove_line(session: Session, order: Order, line_id: int) -> None:
    line = session.get(OrderLine, line_id)
    if line is None or line.order_id != order.id:
        raise LookupError(line_id)
    session.delete(line)
    session.commit()


def list_orders(session: Session, owner_id: int, skip: int = 0, limit: int = 100) -> list[Order]:
    stmt = select(Order).where(Order.owner_id == owner_id).offset(skip).limit(limit)
    return list(session.scalars(stmt))
